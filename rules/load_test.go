package rules

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/alerts"
	"crmwatch/event"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		rules string
		want  []string // every fragment must appear in the error
	}{
		{"unknown kind", `- {id: a, kind: metric, summary: s}`, []string{`rule "a"`, `unknown kind "metric"`}},
		{"missing kind", `- {id: a, summary: s, event: {min_level: error}}`, []string{`rule "a"`, "kind: missing"}},
		{"missing kind block", `- {id: a, kind: threshold, summary: s}`, []string{`kind "threshold" needs a "threshold" block`}},
		{"two blocks", `- {id: a, kind: event, summary: s, event: {min_level: error}, trend: {counter: '\A\B'}}`, []string{`block "trend" set on a rule of kind "event"`}},
		{"bad regex", `- {id: a, kind: event, summary: s, event: {message: 'a(b'}}`, []string{`rule "a"`, "event: message: error parsing regexp"}},
		{"bad level", `- {id: a, kind: event, summary: s, event: {levels: [loud]}}`, []string{`levels: unknown level "loud"`}},
		{"bad min level", `- {id: a, kind: event, summary: s, event: {min_level: severe}}`, []string{`min_level: unknown level "severe"`}},
		{"no criteria", `- {id: a, kind: event, summary: s, event: {}}`, []string{"event: no criteria"}},
		{"bad counter", `- {id: a, kind: threshold, summary: s, threshold: {counter: 'Processor Time', warning: 1}}`, []string{`threshold: counter: counter path "Processor Time"`}},
		{"machine in counter", `- {id: a, kind: trend, summary: s, trend: {counter: '\\APP1\CRM Server\X'}}`, []string{"drop the"}},
		{"bad template", `- {id: a, kind: event, summary: '{{.Host', event: {min_level: error}}`, []string{`rule "a"`, "summary:"}},
		{"unknown template field", `- {id: a, kind: event, summary: '{{.Tenant}}', event: {min_level: error}}`, []string{"summary:", "Tenant"}},
		{"missing summary", `- {id: a, kind: event, event: {min_level: error}}`, []string{"summary: missing"}},
		{"duplicate ids", "- {id: a, kind: event, summary: s, event: {min_level: error}}\n- {id: a, kind: event, summary: s, event: {min_level: error}}", []string{`rule "a": id: duplicate (rules #1 and #2)`}},
		{"missing id", `- {kind: event, summary: s, event: {min_level: error}}`, []string{"rule #1", "id: missing"}},
		{"levels absent", `- {id: a, kind: threshold, summary: s, threshold: {counter: '\Memory\Available MBytes'}}`, []string{"levels absent"}},
		{"levels out of order", `- {id: a, kind: threshold, summary: s, threshold: {counter: '\Memory\Available MBytes', op: lt, warning: 5, critical: 10}}`, []string{"critical 10 is less severe than warning 5"}},
		{"recovery past level", `- {id: a, kind: threshold, summary: s, threshold: {counter: '\A\B', warning: 50, recovery: 60}}`, []string{"recovery 60 is past the warning level 50"}},
		{"bad op and aggregate", `- {id: a, kind: threshold, summary: s, threshold: {counter: '\A\B', warning: 1, op: eq, aggregate: p99}}`, []string{`op: unknown "eq"`, `aggregate: unknown "p99"`}},
		{"negative durations", `- {id: a, kind: threshold, summary: s, threshold: {counter: '\A\B', warning: 1, consecutive: -1}}`, []string{"consecutive: must not be negative"}},
		{"severity on threshold", `- {id: a, kind: threshold, severity: error, summary: s, threshold: {counter: '\A\B', warning: 1}}`, []string{"severity: not used by threshold rules"}},
		{"bad severity", `- {id: a, kind: event, severity: urgent, summary: s, event: {min_level: error}}`, []string{`unknown severity "urgent"`}},
		{"trend max severity", `- {id: a, kind: trend, summary: s, trend: {counter: '\A\B', max_severity: info}}`, []string{"max_severity"}},
		{"missing needs one", `- {id: a, kind: missing, summary: s, missing: {agent: true, counter: '\A\B', after: 1m}}`, []string{"exactly one of agent, counter or event"}},
		{"missing needs after", `- {id: a, kind: missing, summary: s, missing: {agent: true}}`, []string{"after: must be a positive duration"}},
		{"correlation", `- {id: a, kind: correlation, summary: s, correlation: {event: {min_level: error}, count: 2, min_hosts: 3}}`, []string{"within: must be a positive", "could never fire"}},
		{"group by", `- {id: a, kind: event, summary: s, group_by: [host, tenant], event: {min_level: error}}`, []string{`group_by: unknown value "tenant"`}},
		{"empty role", `- {id: a, kind: event, summary: s, roles: [""], event: {min_level: error}}`, []string{"roles[0]: empty role"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(parseRules(t, tc.rules))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Every problem is reported at once, disabled rules included.
func TestValidateReportsEverything(t *testing.T) {
	err := Validate(parseRules(t, `
- {id: a, kind: event, summary: '{{', event: {message: '('}}
- {id: b, kind: nope, summary: s}
- {id: c, kind: event, enabled: false, summary: s, event: {levels: [loud]}}
- {id: ok, kind: event, summary: s, event: {min_level: error}}
`))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Fatalf("want 3 rule errors, got %v", err)
	}
	for _, id := range []string{`rule "a"`, `rule "b"`, `rule "c"`} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error does not name %s", id)
		}
	}
}

func TestLoadKeepsStateAndFailsAtomically(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	e := NewEngine(Options{Sender: rec, Logger: quiet, Registerer: reg})
	const v1 = `
- {id: keep, kind: event, summary: 'v1 {{.Count}}', event: {min_level: error}}
- {id: drop, kind: event, summary: s, event: {sources: [MSCRMPlatform]}}
`
	if err := e.Load(parseRules(t, v1)); err != nil {
		t.Fatal(err)
	}
	processEvents(t, e, evt(0, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	if n := len(rec.take()); n != 2 {
		t.Fatalf("%d changes", n)
	}
	// A broken set leaves the running one in place.
	if err := e.Load(parseRules(t, `- {id: keep, kind: event, summary: '{{', event: {min_level: error}}`)); err == nil {
		t.Fatal("broken set loaded")
	}
	if got := testutil.ToFloat64(e.met.reloadOK); got != 0 {
		t.Errorf("last reload success = %v", got)
	}
	// A good set: "keep" survives with its alert (new summary), "drop" is gone.
	if err := e.Load(parseRules(t, `- {id: keep, kind: event, summary: 'v2 {{.Count}}', event: {min_level: error}}`)); err != nil {
		t.Fatal(err)
	}
	processEvents(t, e, evt(time.Second, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	cs := rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeResolved, "drop", "host=APP1|organization=", alerts.SeverityError, 1, 0},
		want{alerts.ChangeRepeated, "keep", "host=APP1|organization=", alerts.SeverityError, 2, time.Second})
	if cs[1].Alert.Summary != "v2 2" {
		t.Errorf("summary %q", cs[1].Alert.Summary)
	}
	for name, w := range map[string]float64{
		"crmwatch_rules_loaded": 1, "crmwatch_rules_last_reload_success": 1, "crmwatch_rules_events_total": 2, "crmwatch_rules_open_alerts": 1,
	} {
		if got := gather(t, reg, name, ""); got != w {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	if got := gather(t, reg, "crmwatch_rules_alerts_resolved_total", "event"); got != 1 {
		t.Errorf("resolved = %v", got)
	}
	if got := gather(t, reg, "crmwatch_rules_matches_total", "event"); got != 3 {
		t.Errorf("matches = %v", got)
	}
}

func gather(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

// Self-metrics exist at 0 before anything happened.
func TestMetricsPreinitialised(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewEngine(Options{Registerer: reg, Logger: quiet})
	for _, k := range allKinds {
		for _, name := range []string{"crmwatch_rules_matches_total", "crmwatch_rules_alerts_raised_total", "crmwatch_rules_alerts_resolved_total"} {
			if got := gather(t, reg, name, string(k)); got != 0 {
				t.Errorf("%s{%s} = %v", name, k, got)
			}
		}
	}
	for _, r := range errorReasons {
		gather(t, reg, "crmwatch_rules_evaluation_errors_total", r)
	}
	gather(t, reg, "crmwatch_rules_samples_total", "")
	// A second engine on the same registry shares the series instead of failing.
	NewEngine(Options{Registerer: reg, Logger: quiet})
}

func TestRestore(t *testing.T) {
	const rules = `- {id: r, kind: event, summary: '{{.Count}}', event: {min_level: error}}`
	e1, rec1 := newEngine(t, rules)
	processEvents(t, e1, evt(0, "APP1", "trace", 0, event.LevelError, "x"), evt(time.Second, "APP1", "trace", 0, event.LevelError, "x"))
	rec1.take()
	open := e1.OpenAlerts()
	open = append(open, alerts.Alert{ID: "gone", Rule: "removed", Key: "k", State: alerts.StateNew, LastSeen: at(0)})

	e2, rec2 := newEngine(t, rules)
	e2.Restore(open)
	processEvents(t, e2, evt(time.Minute, "APP1", "trace", 0, event.LevelError, "x"))
	cs := rec2.take()
	if len(cs) != 2 || cs[0].Kind != alerts.ChangeResolved || cs[0].Alert.ID != "gone" ||
		cs[1].Kind != alerts.ChangeRepeated || cs[1].Alert.ID != open[0].ID || cs[1].Alert.RepeatCount != 3 || cs[1].Alert.Summary != "3" {
		t.Errorf("after restore:\n%s", describe(cs))
	}
}

// A failing Sender loses nothing: the changes go out with the next call.
func TestSenderFailureKeepsChanges(t *testing.T) {
	fail := true
	var got []alerts.Change
	e := NewEngine(Options{Logger: quiet, Sender: alerts.SenderFunc(func(_ context.Context, cs []alerts.Change) error {
		if fail {
			return errors.New("store down")
		}
		got = append(got, cs...)
		return nil
	})})
	if err := e.Load(parseRules(t, `- {id: r, kind: event, summary: s, event: {min_level: error}}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.ProcessEvents(t.Context(), []event.Event{evt(0, "APP1", "trace", 0, event.LevelError, "x")}); err == nil {
		t.Fatal("no error from a failing sender")
	}
	fail = false
	processEvents(t, e, evt(time.Second, "APP1", "trace", 0, event.LevelError, "x"))
	checkChanges(t, got,
		want{alerts.ChangeRaised, "r", "host=APP1|organization=", alerts.SeverityError, 1, 0},
		want{alerts.ChangeRepeated, "r", "host=APP1|organization=", alerts.SeverityError, 2, time.Second})
}

// Process* and Load from different goroutines (run with -race).
func TestConcurrentProcessAndLoad(t *testing.T) {
	e, _ := newEngine(t, `- {id: r, kind: event, summary: s, event: {min_level: error}}`)
	sets := []string{
		`- {id: r, kind: event, summary: s, event: {min_level: error}}`,
		`- {id: r, kind: event, summary: t, event: {min_level: warning}}
- {id: cpu, kind: threshold, summary: s, threshold: {counter: '\Processor(*)\% Processor Time', warning: 50}}`,
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				d := time.Duration(i) * time.Second
				switch g {
				case 0:
					_ = e.ProcessEvents(context.Background(), []event.Event{evt(d, "APP1", "trace", 0, event.LevelError, "x")})
				case 1:
					_ = e.ProcessSamples(context.Background(), []event.Sample{sample(d, "APP1", `\Processor(0)\% Processor Time`, float64(i%100))})
				case 2:
					if err := e.Load(parseRules(t, sets[i%2])); err != nil {
						t.Error(err)
					}
				case 3:
					_ = e.Tick(context.Background(), at(d))
					_ = e.OpenAlerts()
				}
			}
		})
	}
	wg.Wait()
}
