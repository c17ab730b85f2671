package rules_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// builtinRules is what the server loads for the built-in pack without
// overrides (packs.FarmRules).
func builtinRules(b testing.TB) []rules.Rule {
	b.Helper()
	p, err := crm.Load()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// builtinEngine loads the built-in pack plus extra customer event rules
// and announces the benchmark hosts with their roles, as agents do.
func builtinEngine(b *testing.B, base []rules.Rule, extra int) *rules.Engine {
	b.Helper()
	rs := append(slices.Clone(base), rules.ParseRules(b, rules.ExtraEventRules(extra))...)
	e := rules.NewEngine(rules.Options{Logger: rules.Quiet, Sender: rules.NoopSender})
	if err := e.Load(rs); err != nil {
		b.Fatal(err)
	}
	for host, roles := range rules.BenchHostRoles {
		if err := e.Heartbeat(context.Background(), host, roles, rules.T0); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

var extraCounts = []int{10, 100, 1000}

// BenchmarkBuiltinEvents measures the built-in CRM pack plus 10, 100 and
// 1,000 extra event rules on the realistic event mix; one op is one event.
func BenchmarkBuiltinEvents(b *testing.B) {
	base, evs := builtinRules(b), rules.BenchEvents(1<<16)
	for _, extra := range extraCounts {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			e := builtinEngine(b, base, extra)
			rules.RunEvents(b, e, evs, e.ProcessEvents)
		})
	}
}

// BenchmarkBuiltinEventsNaive is the same without the index.
func BenchmarkBuiltinEventsNaive(b *testing.B) {
	base, evs := builtinRules(b), rules.BenchEvents(1<<16)
	for _, extra := range extraCounts {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			e := builtinEngine(b, base, extra)
			rules.RunEvents(b, e, evs, rules.NaiveProcess(e))
		})
	}
}

// BenchmarkBuiltinIndexSpeedup alternates indexed and naive evaluation on
// the same batches and reports the ratio.
func BenchmarkBuiltinIndexSpeedup(b *testing.B) {
	base, evs := builtinRules(b), rules.BenchEvents(1<<16)
	for _, extra := range extraCounts {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			rules.RunSpeedup(b, builtinEngine(b, base, extra), builtinEngine(b, base, extra), evs)
		})
	}
}

// benchHost is one host of the samples benchmark and what it reports.
type benchHost struct {
	name   string
	roles  []string
	series []benchSeries
}

// benchSeries is a counter path and how its values behave.
type benchSeries struct {
	path  string
	value func(rng *rand.Rand, round int) float64
}

// instancesOf expands a "*" instance the way a CRM farm's counters look.
func instancesOf(object string) []string {
	switch strings.ToLower(object) {
	case "process":
		out := []string{"_Total", "sqlservr", "CrmAsyncService", "Microsoft.Crm.Sandbox.HostService"}
		for i := range 12 {
			out = append(out, "w3wp"+map[bool]string{true: "", false: fmt.Sprintf("#%d", i)}[i == 0])
		}
		return out
	case "logicaldisk":
		return []string{"_Total", "C:", "D:", "E:", "F:"}
	case "processor":
		return []string{"_Total", "0", "1", "2", "3", "4", "5", "6", "7"}
	case "network interface":
		return []string{"Intel[R] 82574L Gigabit Network Connection", "isatap.corp.local"}
	case "crm server":
		return []string{"OrganizationWebService", "DiscoveryService", "DeploymentService", "SandboxClient"}
	}
	return []string{"_Total", "crm"}
}

// seriesOf lists the series a host with roles reports for the rules that
// apply to it, each with values on the healthy side of the rule and a 1%
// chance of crossing it; failure counters of trend rules rise in 1% of
// samples.
func seriesOf(rs []rules.Rule, roles []string) []benchSeries {
	var out []benchSeries
	seen := map[string]int{}
	for _, r := range rs {
		if !r.IsEnabled() || !slices.ContainsFunc(r.Roles, func(x string) bool { return slices.Contains(roles, x) }) {
			continue
		}
		var path string
		switch {
		case r.Threshold != nil:
			path = r.Threshold.Counter
		case r.Trend != nil:
			path = r.Trend.Counter
		case r.Missing != nil && r.Missing.Counter != "":
			path = r.Missing.Counter
		default:
			continue
		}
		cp, err := event.ParseCounterPath(path)
		if err != nil {
			continue
		}
		insts := []string{cp.Instance}
		if cp.Instance == "*" {
			insts = instancesOf(cp.Object)
		}
		for _, inst := range insts {
			cp.Instance = inst
			p := cp.String()
			if i, dup := seen[strings.ToLower(p)]; dup {
				// A counter watched as a level and as growth (delta or
				// rate) takes the slowly growing values, which stay
				// under the level too.
				if cumulative(r) {
					out[i].value = valueFor(r)
				}
				continue
			}
			seen[strings.ToLower(p)] = len(out)
			out = append(out, benchSeries{path: p, value: valueFor(r)})
		}
	}
	return out
}

// benchInterval is the sample interval of the farm.
const benchInterval = 15 * time.Second

func cumulative(r rules.Rule) bool {
	return r.Threshold != nil && (r.Threshold.Aggregate == rules.AggDelta || r.Threshold.Aggregate == rules.AggRate)
}

func valueFor(r rules.Rule) func(*rand.Rand, int) float64 {
	t := r.Threshold
	if t == nil {
		// A failure counter (trend rule) that rarely rises: 1% of samples.
		total := 0.0
		return func(rng *rand.Rand, _ int) float64 {
			if rng.IntN(100) == 0 {
				total++
			}
			return total
		}
	}
	level := 0.0
	for _, l := range []*float64{t.Levels.Warning, t.Levels.Error, t.Levels.Critical} {
		if l != nil {
			level = *l
			break
		}
	}
	below := t.Op == "lt" || t.Op == "le"
	if cumulative(r) {
		// Grows at half the level over the window (or half the rate).
		window := cmp.Or(t.Window.D(), rules.DefaultWindow)
		step := level * 0.5 * float64(benchInterval) / float64(window)
		if t.Aggregate == rules.AggRate {
			step = level * 0.5 * benchInterval.Seconds()
		}
		return func(_ *rand.Rand, round int) float64 { return float64(round) * step }
	}
	return func(rng *rand.Rand, _ int) float64 {
		spike := rng.IntN(100) == 0
		switch {
		case below && spike:
			return level*0.5 - 1
		case below:
			return level*2 + 1 + rng.Float64()
		case spike:
			return level*2 + 1
		}
		return level * 0.5 * rng.Float64()
	}
}

// benchFarm is 20 hosts: 12 front ends, 4 async/sandbox servers and 4 SQL
// servers, each reporting the series of its roles' rules plus counters no
// rule watches (collected for capacity reports).
func benchFarm(rs []rules.Rule) []benchHost {
	unwatched := func(rng *rand.Rand, _ int) float64 { return rng.Float64() * 100 }
	var extra []benchSeries
	for _, p := range rules.BenchSeries() {
		extra = append(extra, benchSeries{path: p, value: unwatched})
	}
	var out []benchHost
	for i := range 20 {
		h := benchHost{name: fmt.Sprintf("CRMAPP%02d", i), roles: []string{"AppServer", "SdkServer", "HelpServer", "DiscoveryService"}}
		switch {
		case i >= 16:
			h.name, h.roles = fmt.Sprintf("CRMSQL%02d", i), []string{"SqlServer"}
		case i >= 12:
			h.name, h.roles = fmt.Sprintf("CRMASYNC%02d", i), []string{"AsyncService", "SandboxService"}
		}
		h.series = seriesOf(rs, h.roles)
		watched := map[string]bool{}
		for _, s := range h.series {
			watched[objectCounter(s.path)] = true
		}
		for _, s := range extra {
			if !watched[objectCounter(s.path)] {
				h.series = append(h.series, s)
			}
		}
		out = append(out, h)
	}
	return out
}

// objectCounter is a path without its instance, lower case: the counters
// the rules watch are left to seriesOf, whatever the instance.
func objectCounter(path string) string {
	cp, err := event.ParseCounterPath(path)
	if err != nil {
		return path
	}
	return strings.ToLower(cp.Object + `\` + cp.Counter)
}

// BenchmarkBuiltinSamples pushes 15-second rounds from a 20-host farm
// through the built-in pack's threshold, trend and missing-counter rules;
// one op is one sample.
func BenchmarkBuiltinSamples(b *testing.B) {
	rs := builtinRules(b)
	farm := benchFarm(rs)
	e := rules.NewEngine(rules.Options{Logger: rules.Quiet, Sender: rules.NoopSender})
	if err := e.Load(rs); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var round []event.Sample
	var values []func(*rand.Rand, int) float64
	watched := 0
	for _, h := range farm {
		if err := e.Heartbeat(ctx, h.name, h.roles, rules.T0); err != nil {
			b.Fatal(err)
		}
		for _, s := range h.series {
			round = append(round, event.Sample{Host: h.name, Counter: s.path})
			values = append(values, s.value)
		}
		watched += len(seriesOf(rs, h.roles))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := rules.ProcessCPU()
	for done, r := 0, 0; done < b.N; r++ {
		now := rules.T0.Add(time.Duration(r+1) * benchInterval)
		n := min(len(round), b.N-done)
		for i := range round[:n] {
			round[i].Time, round[i].Value = now, values[i](rng, r)
		}
		for off := 0; off < n; off += rules.BenchBatch {
			if err := e.ProcessSamples(ctx, round[off:min(off+rules.BenchBatch, n)]); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	rules.ReportRates(b, "samples", cpu0)
	b.ReportMetric(float64(len(round)), "series")
	b.ReportMetric(float64(watched), "watched-series")
}
