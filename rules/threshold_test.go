package rules

import (
	"math"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

const cpuPath = `\Processor(_Total)\% Processor Time`

// The PAL Processor rule: warning > 50, critical > 80, with two consecutive
// evaluations required and recovery below 40 (hysteresis).
func TestThresholdLevelsHysteresis(t *testing.T) {
	e, rec := newEngine(t, `
- id: cpu
  kind: threshold
  summary: 'CPU {{.Value}}% on {{.Host}}'
  threshold: {counter: '\Processor(_Total)\% Processor Time', warning: 50, critical: 80, consecutive: 2, recovery: 40}
`)
	const key = "host=APP1|instance=_Total"
	step := func(min int, v float64, wants ...want) {
		t.Helper()
		processSamples(t, e, sample(time.Duration(min)*time.Minute, "APP1", cpuPath, v))
		checkChanges(t, rec.take(), wants...)
	}
	step(0, 60)                                                                                    // one evaluation over: not yet
	step(1, 30)                                                                                    // back under: the count restarts
	step(2, 60)                                                                                    // 1
	step(3, 65, want{alerts.ChangeRaised, "cpu", key, alerts.SeverityWarning, 1, 3 * time.Minute}) // 2 in a row
	step(4, 90, want{alerts.ChangeSeverityChanged, "cpu", key, alerts.SeverityCritical, 2, 4 * time.Minute})
	step(5, 70, want{alerts.ChangeSeverityChanged, "cpu", key, alerts.SeverityWarning, 3, 5 * time.Minute})
	step(6, 45, want{alerts.ChangeRepeated, "cpu", key, alerts.SeverityWarning, 4, 6 * time.Minute}) // between recovery and warning: stays
	step(7, 39, want{alerts.ChangeResolved, "cpu", key, alerts.SeverityWarning, 4, 7 * time.Minute})
	step(8, 55) // must again be over for two evaluations
}

// Memory\Available MBytes alerts when low (op lt); each LogicalDisk
// instance of a "*" rule alerts on its own.
func TestThresholdBelowAndPerInstance(t *testing.T) {
	e, rec := newEngine(t, `
- id: disk.free
  kind: threshold
  summary: '{{.Instance}} on {{.Host}} has {{.Value}}% free'
  threshold: {counter: '\LogicalDisk(*)\% Free Space', op: lt, warning: 10, critical: 5}
`)
	processSamples(t, e,
		sample(0, "SQL1", `\LogicalDisk(C:)\% Free Space`, 40),
		sample(0, "SQL1", `\LogicalDisk(D:)\% Free Space`, 8),
		sample(0, "SQL1", `\LogicalDisk(E:)\% Free Space`, 4),
		sample(0, "SQL1", `\Memory\Available MBytes`, 4))
	cs := rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeRaised, "disk.free", "host=SQL1|instance=D:", alerts.SeverityWarning, 1, 0},
		want{alerts.ChangeRaised, "disk.free", "host=SQL1|instance=E:", alerts.SeverityCritical, 1, 0})
	if cs[1].Alert.Summary != "E: on SQL1 has 4% free" || cs[1].Alert.Fields["counter"] != `\LogicalDisk(E:)\% Free Space` {
		t.Errorf("alert %+v", cs[1].Alert)
	}
	processSamples(t, e, sample(time.Minute, "SQL1", `\LogicalDisk(D:)\% Free Space`, 12))
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "disk.free", "host=SQL1|instance=D:", alerts.SeverityWarning, 1, time.Minute})
}

// An instance that stops reporting does not hold its alert open forever:
// after max(3×window, 15m) of silence Tick drops the series and resolves
// the alert at last sample + that time.
func TestThresholdStaleInstanceResolves(t *testing.T) {
	e, rec := newEngine(t, `
- id: handles
  kind: threshold
  summary: s
  threshold: {counter: '\Process(*)\Handle Count', warning: 16384, window: 1m}
`)
	processSamples(t, e, sample(0, "APP1", `\Process(w3wp#2)\Handle Count`, 20000), sample(0, "APP1", `\Process(w3wp)\Handle Count`, 20000))
	rec.take()
	processSamples(t, e, sample(10*time.Minute, "APP1", `\Process(w3wp)\Handle Count`, 20000))
	rec.take()
	tick(t, e, 14*time.Minute)
	checkChanges(t, rec.take())
	tick(t, e, 16*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "handles", "host=APP1|instance=w3wp#2", alerts.SeverityWarning, 1, 15 * time.Minute})
	if n := len(e.OpenAlerts()); n != 1 {
		t.Errorf("open alerts %d, want the live instance's only", n)
	}
}

// Failure counters are cumulative: a delta over the window, with a counter
// reset (service restart) counted from zero rather than negative.
func TestThresholdDeltaAndRate(t *testing.T) {
	e, rec := newEngine(t, `
- id: failed.delta
  kind: threshold
  summary: '{{.Value}} failed requests in 5m'
  threshold: {counter: '\CRM Server(*)\Failed Organization Service Requests', aggregate: delta, window: 5m, warning: 0, critical: 100}
- id: lazy.rate
  kind: threshold
  summary: s
  threshold: {counter: '\SQLServer:Buffer Manager\Lazy writes/sec', aggregate: rate, window: 2m, critical: 20}
`)
	const failed = `\CRM Server(OrganizationWebService)\Failed Organization Service Requests`
	processSamples(t, e, sample(0, "APP1", failed, 500)) // one point: no delta yet
	processSamples(t, e, sample(time.Minute, "APP1", failed, 500))
	checkChanges(t, rec.take())
	processSamples(t, e, sample(2*time.Minute, "APP1", failed, 530))
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "failed.delta", "host=APP1|instance=OrganizationWebService", alerts.SeverityWarning, 1, 2 * time.Minute})
	processSamples(t, e, sample(3*time.Minute, "APP1", failed, 90)) // reset: +90, total 120
	cs := rec.take()
	checkChanges(t, cs, want{alerts.ChangeSeverityChanged, "failed.delta", "host=APP1|instance=OrganizationWebService", alerts.SeverityCritical, 2, 3 * time.Minute})
	if cs[0].Alert.Summary != "120 failed requests in 5m" {
		t.Errorf("summary %q", cs[0].Alert.Summary)
	}
	processSamples(t, e, sample(0, "SQL1", `\SQLServer:Buffer Manager\Lazy writes/sec`, 1000), sample(time.Minute, "SQL1", `\SQLServer:Buffer Manager\Lazy writes/sec`, 3400))
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "lazy.rate", "host=SQL1|instance=", alerts.SeverityCritical, 1, time.Minute})
}

// A gauge that goes up and down (Private Bytes of a healthy w3wp) must not
// look like growth: delta would read every drop as a counter reset and add
// the whole value, change reads last minus first. Real growth still fires.
func TestThresholdChangeOnGauge(t *testing.T) {
	const pb = `\Process(w3wp)\Private Bytes`
	const mb = 1 << 20
	rule := func(agg string) string {
		return `- {id: growth, kind: threshold, summary: s, threshold: {counter: '\Process(*)\Private Bytes', aggregate: ` + agg + `, window: 1h, warning: 104857600}}`
	}
	var saw []event.Sample
	for i := 0; i <= 12; i++ {
		v := float64(500 * mb)
		if i%2 == 1 {
			v = 520 * mb
		}
		saw = append(saw, sample(time.Duration(i)*5*time.Minute, "APP1", pb, v))
	}
	e, rec := newEngine(t, rule("change"))
	processSamples(t, e, saw...)
	checkChanges(t, rec.take())

	naive, naiveRec := newEngine(t, rule("delta"))
	processSamples(t, naive, saw...)
	if len(naiveRec.take()) == 0 {
		t.Fatal("delta on the same gauge should fire (that is the false positive change avoids)")
	}

	processSamples(t, e, sample(65*time.Minute, "APP1", pb, 700*mb)) // +200 MB within the hour
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "growth", "host=APP1|instance=w3wp", alerts.SeverityWarning, 1, 65 * time.Minute})
}

func TestAggregate(t *testing.T) {
	pts := func(vs ...float64) []point {
		out := make([]point, len(vs))
		for i, v := range vs {
			out[i] = point{int64(i) * int64(time.Second*10), v}
		}
		return out
	}
	cases := []struct {
		agg  Aggregate
		pts  []point
		want float64
		ok   bool
	}{
		{AggLast, pts(1, 2, 3), 3, true},
		{AggAvg, pts(1, 2, 6), 3, true},
		{AggMin, pts(4, 2, 6), 2, true},
		{AggMax, pts(4, 2, 6), 6, true},
		{AggDelta, pts(10, 15, 25), 15, true},
		{AggDelta, pts(10, 15, 3, 5), 10, true}, // reset after 15: +5, +3, +2
		{AggDelta, pts(10), 0, false},
		{AggRate, pts(0, 50, 100), 5, true},
		{AggChange, pts(500, 600, 500, 600, 520), 20, true}, // a gauge: no reset logic
		{AggChange, pts(600, 400), -200, true},
		{AggChange, pts(7), 0, false},
		{AggLast, nil, 0, false},
	}
	for _, tc := range cases {
		got, ok := aggregate(tc.agg, tc.pts)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s %v = %v, %v; want %v, %v", tc.agg, tc.pts, got, ok, tc.want, tc.ok)
		}
	}
}

// The window keeps samples within it (inclusive) and out-of-order samples
// are dropped and counted.
func TestThresholdWindowAvg(t *testing.T) {
	e, rec := newEngine(t, `- {id: q, kind: threshold, summary: s, threshold: {counter: '\System\Processor Queue Length', aggregate: avg, window: 2m, warning: 4}}`)
	const q = `\System\Processor Queue Length`
	processSamples(t, e, sample(0, "APP1", q, 10), sample(time.Minute, "APP1", q, 8), sample(2*time.Minute, "APP1", q, 0))
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "q", "host=APP1|instance=", alerts.SeverityWarning, 3, 0}) // 10, 9, 6
	// 10 leaves the window at 3m: avg(8,0,0) clears; the late sample at 30s is ignored.
	processSamples(t, e, sample(3*time.Minute, "APP1", q, 0), sample(30*time.Second, "APP1", q, 100))
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "q", "host=APP1|instance=", alerts.SeverityWarning, 3, 3 * time.Minute})
}

// group_by [host] folds every instance of a host into one alert: its
// severity is the worst instance's, and it resolves when none is over.
func TestThresholdGroupedInstances(t *testing.T) {
	e, rec := newEngine(t, `
- id: disk.free
  kind: threshold
  summary: s
  group_by: [host]
  threshold: {counter: '\LogicalDisk(*)\% Free Space', op: lt, warning: 10, critical: 5}
`)
	d := func(inst string) string { return `\LogicalDisk(` + inst + `)\% Free Space` }
	processSamples(t, e, sample(0, "SQL1", d("C:"), 8), sample(0, "SQL1", d("D:"), 50))
	processSamples(t, e, sample(time.Minute, "SQL1", d("C:"), 8), sample(time.Minute, "SQL1", d("D:"), 9.5))
	processSamples(t, e, sample(2*time.Minute, "SQL1", d("C:"), 4), sample(2*time.Minute, "SQL1", d("D:"), 9))
	processSamples(t, e, sample(3*time.Minute, "SQL1", d("C:"), 30), sample(3*time.Minute, "SQL1", d("D:"), 9))
	processSamples(t, e, sample(4*time.Minute, "SQL1", d("C:"), 30), sample(4*time.Minute, "SQL1", d("D:"), 40))
	checkChanges(t, rec.take(),
		want{alerts.ChangeRaised, "disk.free", "host=SQL1", alerts.SeverityWarning, 1, 0},
		want{alerts.ChangeRepeated, "disk.free", "host=SQL1", alerts.SeverityWarning, 3, time.Minute},
		want{alerts.ChangeSeverityChanged, "disk.free", "host=SQL1", alerts.SeverityCritical, 5, 2 * time.Minute},
		want{alerts.ChangeSeverityChanged, "disk.free", "host=SQL1", alerts.SeverityWarning, 6, 3 * time.Minute},
		want{alerts.ChangeResolved, "disk.free", "host=SQL1", alerts.SeverityWarning, 6, 4 * time.Minute})
}
