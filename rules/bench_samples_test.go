package rules

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
)

// palThresholdRules are the PAL thresholds of crm-domain §4.2 and the CRM
// failure-counter trends of §4.1, as threshold and trend rules.
const palThresholdRules = `
- {id: cpu, kind: threshold, summary: s, threshold: {counter: '\Processor(_Total)\% Processor Time', aggregate: avg, warning: 50, critical: 80}}
- {id: cpu.privileged, kind: threshold, summary: s, threshold: {counter: '\Processor(*)\% Privileged Time', warning: 20, critical: 30}}
- {id: queue, kind: threshold, summary: s, threshold: {counter: '\System\Processor Queue Length', aggregate: avg, warning: 4, critical: 20}}
- {id: mem.available, kind: threshold, summary: s, threshold: {counter: '\Memory\Available MBytes', op: lt, warning: 1600, critical: 800}}
- {id: mem.committed, kind: threshold, summary: s, threshold: {counter: '\Memory\% Committed Bytes In Use', warning: 80, critical: 90}}
- {id: mem.pages, kind: threshold, summary: s, threshold: {counter: '\Memory\Pages/sec', aggregate: avg, warning: 1000}}
- {id: disk.free, kind: threshold, summary: s, threshold: {counter: '\LogicalDisk(*)\% Free Space', op: lt, warning: 10, critical: 5}}
- {id: disk.latency, kind: threshold, summary: s, threshold: {counter: '\LogicalDisk(*)\Avg. Disk sec/Transfer', aggregate: avg, warning: 0.015, critical: 0.025}}
- {id: proc.private, kind: threshold, summary: s, threshold: {counter: '\Process(*)\Private Bytes', warning: 1073741824}}
- {id: proc.handles, kind: threshold, summary: s, threshold: {counter: '\Process(*)\Handle Count', warning: 16384}}
- {id: proc.threads, kind: threshold, summary: s, threshold: {counter: '\Process(*)\Thread Count', warning: 1000}}
- {id: aspnet.queue, kind: threshold, summary: s, threshold: {counter: '\ASP.NET Apps v4.0.30319(*)\Requests In Application Queue', warning: 2, critical: 10}}
- {id: crm.auth.claims, kind: threshold, summary: s, threshold: {counter: '\CRM Authentication\ClaimsAuthenticationFailuresInTheLastMinute', critical: 30}}
- {id: crm.sandbox.cpu, kind: threshold, summary: s, threshold: {counter: '\CRM Sandbox Host\% CPU Usage', warning: 70}}
- {id: crm.async.outstanding, kind: threshold, summary: s, threshold: {counter: '\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding', warning: 100, critical: 1000}}
- {id: crm.orgsvc.failed, kind: trend, summary: s, trend: {counter: '\CRM Server(*)\Failed Organization Service Requests'}}
- {id: crm.orgsvc.metadata.failed, kind: trend, summary: s, trend: {counter: '\CRM Server(*)\Failed Organization Service Metadata Requests'}}
- {id: crm.report.failed, kind: trend, summary: s, trend: {counter: '\CRM Server(*)\Failed Report Render Requests'}}
- {id: crm.wf.failed, kind: trend, summary: s, trend: {counter: '\CRM Async Service(mscrmasyncservice)\Workflow Operations Failed'}}
- {id: crm.sync.transient, kind: trend, summary: s, trend: {counter: '\CRM Async Service(mscrmasyncservice)\Exchange Sync: Transient Errors for Tasks', max_severity: warning}}
- {id: crm.counters.gone, kind: missing, summary: s, missing: {counter: '\CRM Server(*)\Failed Organization Service Requests', after: 5m}}
`

// benchSeries lists the counter paths one host reports each interval: the
// ones the rules watch (many Process and LogicalDisk instances) and as
// many again that no rule watches (collected for capacity reports).
func benchSeries() []string {
	var out []string
	add := func(f string, args ...any) { out = append(out, fmt.Sprintf(f, args...)) }
	add(`\Processor(_Total)\%% Processor Time`)
	for c := range 8 {
		add(`\Processor(%d)\%% Privileged Time`, c)
		add(`\Processor(%d)\%% Interrupt Time`, c)
	}
	add(`\System\Processor Queue Length`)
	add(`\Memory\Available MBytes`)
	add(`\Memory\%% Committed Bytes In Use`)
	add(`\Memory\Pages/sec`)
	for _, d := range []string{"C:", "D:", "E:", "F:"} {
		add(`\LogicalDisk(%s)\%% Free Space`, d)
		add(`\LogicalDisk(%s)\Avg. Disk sec/Transfer`, d)
		add(`\LogicalDisk(%s)\Disk Reads/sec`, d)
	}
	for p := range 40 {
		inst := "w3wp"
		if p > 0 {
			inst = fmt.Sprintf("w3wp#%d", p)
		}
		add(`\Process(%s)\Private Bytes`, inst)
		add(`\Process(%s)\Handle Count`, inst)
		add(`\Process(%s)\Thread Count`, inst)
		add(`\Process(%s)\%% Processor Time`, inst)
		add(`\Process(%s)\IO Data Bytes/sec`, inst)
	}
	for _, s := range []string{"OrganizationWebService", "DiscoveryService", "DeploymentService", "SandboxClient"} {
		add(`\CRM Server(%s)\Failed Organization Service Requests`, s)
		add(`\CRM Server(%s)\Failed Organization Service Metadata Requests`, s)
		add(`\CRM Server(%s)\Failed Report Render Requests`, s)
		add(`\CRM Server(%s)\Time Spent In Organization Service Metadata Requests`, s)
	}
	add(`\CRM Authentication\ClaimsAuthenticationFailuresInTheLastMinute`)
	add(`\CRM Sandbox Host\%% CPU Usage`)
	add(`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`)
	add(`\CRM Async Service(mscrmasyncservice)\Workflow Operations Failed`)
	add(`\CRM Async Service(mscrmasyncservice)\Exchange Sync: Transient Errors for Tasks`)
	add(`\ASP.NET Apps v4.0.30319(__Total__)\Requests In Application Queue`)
	for i := range 60 {
		add(`\Network Interface(nic%d)\Bytes Total/sec`, i)
	}
	return out
}

// BenchmarkSamples pushes 15-second rounds from 20 hosts through the PAL
// threshold and trend rules; one op is one sample.
func BenchmarkSamples(b *testing.B) {
	series := benchSeries()
	const hosts = 20
	round := make([]event.Sample, 0, hosts*len(series))
	var kinds []valueKind
	for h := range hosts {
		for _, c := range series {
			round = append(round, event.Sample{Host: fmt.Sprintf("APP%02d", h), Counter: c})
			kinds = append(kinds, kindOf(c))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	e := NewEngine(Options{Logger: quiet, Sender: noopSender})
	if err := e.Load(parseRules(b, palThresholdRules)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for done, r := 0, 0; done < b.N; r++ {
		now := t0.Add(time.Duration(r) * 15 * time.Second)
		n := min(len(round), b.N-done)
		for i := range round[:n] {
			s := &round[i]
			s.Time = now
			s.Value = kinds[i].value(rng, r)
		}
		for off := 0; off < n; off += benchBatch {
			if err := e.ProcessSamples(ctx, round[off:min(off+benchBatch, n)]); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	reportRates(b, "samples", cpu0)
}

type valueKind int

const (
	valueGauge valueKind = iota
	valueFailures
	valueFree
	valueMBytes
)

func kindOf(counter string) valueKind {
	switch {
	case strings.Contains(counter, "Failed") || strings.Contains(counter, "Transient"):
		return valueFailures
	case strings.Contains(counter, "Free Space"):
		return valueFree
	case strings.Contains(counter, "Available MBytes"):
		return valueMBytes
	}
	return valueGauge
}

// value is mostly healthy with about 1% spikes over thresholds; failure
// counters rise every seventh round.
func (k valueKind) value(rng *rand.Rand, round int) float64 {
	spike := rng.IntN(100) == 0
	switch k {
	case valueFailures:
		return float64(round / 7)
	case valueFree:
		if spike {
			return 3
		}
		return 20 + rng.Float64()*60
	case valueMBytes:
		if spike {
			return 500
		}
		return 2000 + rng.Float64()*8000
	}
	if spike {
		return 1e10
	}
	return rng.Float64() * 0.01
}
