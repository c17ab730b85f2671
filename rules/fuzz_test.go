package rules

import (
	"context"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"crmwatch/event"
)

// FuzzLoad feeds arbitrary rule YAML to the loader: it must reject bad
// input with an error (never panic), agree with Validate, and a set it
// accepts must evaluate events, samples and ticks without panicking.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		`- {id: a, kind: event, summary: '{{.Fields.x}}', group_by: [x], event: {message: '(?P<x>\d+)'}}`,
		`- {id: a, kind: threshold, summary: s, threshold: {counter: '\A(*)\B', op: le, warning: 5, critical: 1, recovery: 6, aggregate: rate, window: 1s, consecutive: 3}}`,
		`- {id: a, kind: correlation, summary: s, correlation: {event: {categories: ["Platform.*"]}, count: 2, min_hosts: 2, within: 1m}}`,
		`- {id: a, kind: missing, summary: s, missing: {counter: '\A\B', after: 1s}}`,
		`- {id: a, kind: trend, summary: s, trend: {counter: '\A\B', samples: 1, max_severity: error}}`,
		`- {id: a, kind: event, summary: '{{', event: {levels: [loud]}}`,
		// Summaries that once made Load spin (now rejected by checkSummaryTree).
		`- {id: a, kind: event, summary: '{{range 100000000}}{{end}}', event: {levels: [error]}}`,
		`- {id: a, kind: event, summary: '{{define "a"}}{{template "a" .}}{{template "a" .}}{{end}}{{template "a" .}}', event: {levels: [error]}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var rs []Rule
		if yaml.Unmarshal([]byte(src), &rs) != nil {
			return
		}
		e := NewEngine(Options{Logger: quiet})
		err := e.Load(rs)
		if (err == nil) != (Validate(rs) == nil) {
			t.Fatalf("Load and Validate disagree: %v", err)
		}
		if err != nil {
			return
		}
		ctx := context.Background()
		for i := range 4 {
			d := time.Duration(i) * time.Minute
			_ = e.ProcessEvents(ctx, []event.Event{
				evt(d, "APP1", "MSCRMPlatform", 17424, event.LevelError, "Query execution time of 12 seconds", cat("Platform.Sql"), org("Contoso")),
				evt(d, "APP2", "trace", 0, event.LevelVerbose, "x", cat("Platform")),
			})
			_ = e.ProcessSamples(ctx, []event.Sample{sample(d, "APP1", `\A(x)\B`, float64(i)), sample(d, "APP1", `\A\B`, float64(-i))})
			_ = e.Heartbeat(ctx, "APP1", []string{"AppServer"}, at(d))
			_ = e.Tick(ctx, at(d+time.Hour))
		}
		_ = e.OpenAlerts()
	})
}

// FuzzEventMatch runs arbitrary event text through the CRM-like set.
func FuzzEventMatch(f *testing.F) {
	f.Add("MSCRMEmailLog", "", "#61042 - An error", uint8(event.LevelError), uint32(0))
	f.Add("trace", "Platform.Sql.", "SQL Server does not exist", uint8(event.LevelError), uint32(0))
	f.Add("MSCRMPlatform", "...", "Query execution time of 1e9 seconds", uint8(200), uint32(17424))
	rs := crmEventRules + extraEventRules(30)
	f.Fuzz(func(t *testing.T, source, category, message string, level uint8, id uint32) {
		e := NewEngine(Options{Logger: quiet})
		if err := e.Load(parseRules(t, rs)); err != nil {
			t.Fatal(err)
		}
		ev := evt(0, "APP1", source, id, event.Level(level), message, cat(category))
		if err := e.ProcessEvents(context.Background(), []event.Event{ev, ev}); err != nil {
			t.Fatal(err)
		}
		for _, a := range e.OpenAlerts() {
			if a.RepeatCount < 1 || a.ID == "" {
				t.Fatalf("bad alert %+v", a)
			}
		}
	})
}
