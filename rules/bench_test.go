package rules

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// crmEventRules is a CRM-like event rule set (crm-domain §5, §2, §3.2): the
// event-log ids seen in product binaries, trace errors by category, the
// E-mail Router's #code messages, slow SQL warnings, one correlation and
// two missing-data rules.
const crmEventRules = `
- {id: crm.sandbox.client, kind: event, severity: error, summary: s, event: {sources: [MSCRMSandboxClient], event_ids: [20242, 20256]}}
- {id: crm.platform.maintenance, kind: event, severity: error, summary: s, event: {sources: [MSCRMPlatform], event_ids: [17424]}}
- {id: crm.platform.bootstrap, kind: event, severity: critical, summary: s, event: {sources: [MSCRMPlatform], event_ids: [17931]}}
- {id: crm.keygen, kind: event, severity: error, summary: s, event: {sources: [MSCRMKeyGenerator], event_ids: [18958]}}
- {id: crm.reporting, kind: event, severity: error, summary: s, event: {sources: [MSCRMReporting], event_ids: [19968, 19969]}}
- {id: crm.email.router, kind: event, summary: '#{{.Fields.code}}', group_by: [host, code], event: {sources: [MSCRMEmailLog], min_level: error, message: '^#(?P<code>[0-9]+) - '}}
- {id: crm.sql.slow, kind: event, summary: s, event: {sources: [MSCRMPlatform], min_level: warning, message: 'Query execution time of (?P<seconds>[0-9.]+) seconds'}}
- {id: crm.webservice, kind: event, summary: s, event: {sources: [MSCRMWebService], min_level: warning}}
- {id: crm.deletion, kind: event, summary: s, event: {sources: [MSCRMDeletionService], min_level: error}}
- {id: crm.monitoring.failed, kind: event, summary: s, event: {sources: [MSCRMMonitoringServerRole], min_level: error}}
- {id: crm.trace.sql, kind: event, summary: s, event: {categories: ["Platform.Sql.*"], min_level: error}}
- {id: crm.trace.async, kind: event, summary: s, event: {categories: ["Platform.Async.*", "Platform.Workflow.*"], min_level: error}}
- {id: crm.trace.sandbox, kind: event, summary: s, event: {categories: ["Sandbox.*"], min_level: error, message: 'Access Denied'}}
- {id: crm.trace.application, kind: event, summary: s, event: {categories: ["Application.*"], min_level: error}}
- {id: crm.trace.exception, kind: event, summary: s, event: {categories: [Exception], min_level: error}}
- {id: crm.sql.unreachable, kind: correlation, severity: critical, summary: s, correlation: {event: {categories: ["Platform.Sql.*"], min_level: error, message: 'SQL Server does not exist'}, count: 10, min_hosts: 3, within: 5m}}
- {id: crm.agent.down, kind: missing, severity: critical, summary: s, missing: {agent: true, after: 2m}}
- {id: crm.monitoring.silent, kind: missing, summary: s, missing: {after: 30m, event: {sources: [MSCRMMonitoringServerRole]}}}
`

var (
	eventlogSources = []string{"Service Control Manager", "ASP.NET 4.0.30319.0", "MSSQLSERVER", "W3SVC", "WAS", "Schannel",
		"Microsoft-Windows-Kerberos-Key-Distribution-Center", "Contoso.Plugins", "Fabrikam.Integration", "MSCRMTracing"}
	traceCategories = []string{"Platform.Sdk", "Platform.Sql", "Platform.Async", "Platform.Metadata", "Platform.Workflow",
		"Application", "Application.Outlook", "Sandbox", "Deployment.Sdk", "Shared", "ObjectModel", "Exception"}
)

// extraEventRules are customer and operator rules on top of the pack: a
// third keyed by event id, a third by source, a third by trace category
// with a message pattern. None of them matches the benchmark's errors.
func extraEventRules(n int) string {
	var b strings.Builder
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "- {id: x%d, kind: event, summary: s, event: {sources: ['%s'], event_ids: [%d], min_level: warning}}\n",
				i, eventlogSources[i%len(eventlogSources)], 1000+i)
		case 1:
			fmt.Fprintf(&b, "- {id: x%d, kind: event, summary: s, event: {sources: ['Custom.Source%d'], min_level: warning}}\n", i, i)
		default:
			fmt.Fprintf(&b, "- {id: x%d, kind: event, summary: s, event: {categories: ['%s.Feature%d.*'], min_level: warning, message: 'customer pattern %d'}}\n",
				i, traceCategories[i%len(traceCategories)], i, i)
		}
	}
	return b.String()
}

// benchHosts are the hosts of benchEvents; benchHostRoles the CRM roles
// their agents announce.
var (
	benchHosts     = []string{"APP1", "APP2", "APP3", "APP4", "ASYNC1", "ASYNC2", "SQL1", "MAIL1"}
	benchHostRoles = map[string][]string{
		"APP1": {"AppServer", "SdkServer", "HelpServer"}, "APP2": {"AppServer", "SdkServer", "HelpServer"},
		"APP3": {"AppServer", "SdkServer", "DiscoveryService"}, "APP4": {"AppServer", "SdkServer", "DeploymentService"},
		"ASYNC1": {"AsyncService", "SandboxService"}, "ASYNC2": {"AsyncService", "SandboxService"},
		"SQL1": {"SqlServer", "ReportingServer"}, "MAIL1": {"EmailRouter"},
	}
)

// benchEvents is a realistic mix: ~90% trace Verbose/Info records that
// match nothing, ~4% trace warnings, ~4% informational event-log entries,
// ~2% errors that match pack rules.
func benchEvents(n int) []event.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := benchHosts
	orgs := []string{"Contoso", "Fabrikam", "Northwind", "AdventureWorks", "Tailspin"}
	evs := make([]event.Event, n)
	for i := range evs {
		ev := &evs[i]
		ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
		ev.Host = hosts[rng.IntN(len(hosts))]
		ev.Organization = orgs[rng.IntN(len(orgs))]
		ev.Process = "w3wp"
		switch p := rng.IntN(100); {
		case p < 90:
			ev.Source, ev.Category = event.SourceTrace, traceCategories[rng.IntN(len(traceCategories))]
			ev.Level = event.LevelVerbose + event.Level(rng.IntN(2))
			ev.Message = "CrmDbConnection.InternalExecuteReader ilOffset = 0x16"
		case p < 94:
			ev.Source, ev.Category, ev.Level = event.SourceTrace, traceCategories[rng.IntN(len(traceCategories))], event.LevelWarning
			ev.Message = "Web service call took longer than expected"
		case p < 98:
			ev.Source, ev.Level = eventlogSources[rng.IntN(len(eventlogSources))], event.LevelInfo
			ev.EventID = uint32(7000 + rng.IntN(50))
			ev.Message = "The service entered the running state."
		default:
			switch rng.IntN(4) {
			case 0:
				ev.Source, ev.Category, ev.Level = event.SourceTrace, "Platform.Sql", event.LevelError
				ev.Message = "SqlException: SQL Server does not exist or access denied."
			case 1:
				ev.Source, ev.EventID, ev.Level = "MSCRMPlatform", 17424, event.LevelError
				ev.Message = "RecurringSeriesExpansionOperation failed"
			case 2:
				ev.Source, ev.Level = "MSCRMEmailLog", event.LevelError
				ev.Message = "#61042 - An error occurred while processing the outgoing e-mail message"
			default:
				ev.Source, ev.Level = "MSCRMPlatform", event.LevelWarning
				ev.Message = "Query execution time of 119.1 seconds exceeded the threshold of 10 seconds."
			}
		}
	}
	return evs
}

func benchEngine(b *testing.B, rules string) *Engine {
	b.Helper()
	e := NewEngine(Options{Logger: quiet, Sender: noopSender})
	if err := e.Load(parseRules(b, rules)); err != nil {
		b.Fatal(err)
	}
	return e
}

const benchBatch = 1000

// noopSender takes changes and drops them, so benchmarks measure the engine.
var noopSender = alerts.SenderFunc(func(context.Context, []alerts.Change) error { return nil })

// runEvents pushes b.N events in batches; one op is one event.
func runEvents(b *testing.B, e *Engine, evs []event.Event, process func(context.Context, []event.Event) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for done := 0; done < b.N; {
		off := done % len(evs)
		n := min(benchBatch, b.N-done, len(evs)-off)
		if err := process(ctx, evs[off:off+n]); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	reportRates(b, "events", cpu0)
}

// reportRates reports b.N observations per wall-clock second and per
// CPU-second of the process.
func reportRates(b *testing.B, unit string, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
	if d := processCPU() - cpu0; d > 0 {
		b.ReportMetric(float64(b.N)/d.Seconds(), unit+"/cpu-s")
	}
}

// BenchmarkEvents measures indexed evaluation through the CRM-like set plus
// 10, 100 and 1,000 extra event rules.
func BenchmarkEvents(b *testing.B) {
	evs := benchEvents(1 << 16)
	for _, extra := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			e := benchEngine(b, crmEventRules+extraEventRules(extra))
			runEvents(b, e, evs, e.ProcessEvents)
		})
	}
}

// naiveProcess is the baseline: every rule against every event, no index.
func naiveProcess(e *Engine) func(context.Context, []event.Event) error {
	return func(ctx context.Context, evs []event.Event) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for i := range evs {
			e.advance(evs[i].Time)
			for _, r := range e.set.rules {
				if r.match != nil {
					e.evalEvent(r, &evs[i])
				}
			}
		}
		return e.flush(ctx)
	}
}

// BenchmarkEventsNaive is the same workload without the index.
func BenchmarkEventsNaive(b *testing.B) {
	evs := benchEvents(1 << 16)
	for _, extra := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			e := benchEngine(b, crmEventRules+extraEventRules(extra))
			runEvents(b, e, evs, naiveProcess(e))
		})
	}
}

// BenchmarkIndexSpeedup runs the indexed and the naive evaluation on the
// same batches, alternating so machine load hits both alike, and reports
// naive time / indexed time. One op is one event through both.
func BenchmarkIndexSpeedup(b *testing.B) {
	evs := benchEvents(1 << 16)
	for _, extra := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			rules := crmEventRules + extraEventRules(extra)
			runSpeedup(b, benchEngine(b, rules), benchEngine(b, rules), evs)
		})
	}
}

// runSpeedup pushes b.N events through indexed and, on the same batches,
// through naive evaluation on a second engine with the same rules.
func runSpeedup(b *testing.B, indexed, naive *Engine, evs []event.Event) {
	naiveFn := naiveProcess(naive)
	ctx := context.Background()
	var ti, tn time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; {
		off := done % len(evs)
		batch := evs[off : off+min(benchBatch, b.N-done, len(evs)-off)]
		start := time.Now()
		if err := indexed.ProcessEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := naiveFn(ctx, batch); err != nil {
			b.Fatal(err)
		}
		ti, tn = ti+mid.Sub(start), tn+time.Since(mid)
		done += len(batch)
	}
	b.ReportMetric(float64(tn)/float64(max(ti, 1)), "speedup")
	b.ReportMetric(float64(ti.Nanoseconds())/float64(b.N), "indexed-ns/event")
	b.ReportMetric(float64(tn.Nanoseconds())/float64(b.N), "naive-ns/event")
}
