package rules

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"crmwatch/alerts"
	"crmwatch/event"
)

var quiet = slog.New(slog.DiscardHandler)

// t0 is the start of virtual time in the acceptance tests.
var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// recorder is a Sender that keeps every change.
type recorder struct {
	mu      sync.Mutex
	changes []alerts.Change
	calls   int
}

func (r *recorder) Send(_ context.Context, cs []alerts.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.changes = append(r.changes, cs...)
	return nil
}

// take returns and forgets the changes so far.
func (r *recorder) take() []alerts.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.changes
	r.changes = nil
	return out
}

func parseRules(t testing.TB, src string) []Rule {
	t.Helper()
	var rs []Rule
	if err := yaml.Unmarshal([]byte(src), &rs); err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	return rs
}

func newEngine(t testing.TB, src string) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{}
	e := NewEngine(Options{Sender: rec, Logger: quiet})
	if err := e.Load(parseRules(t, src)); err != nil {
		t.Fatalf("load: %v", err)
	}
	return e, rec
}

// evt builds an event; opts adjust it.
func evt(d time.Duration, host, source string, id uint32, lvl event.Level, msg string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{Time: at(d), Host: host, Source: source, EventID: id, Level: lvl, Message: msg}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func org(o string) func(*event.Event)  { return func(e *event.Event) { e.Organization = o } }
func cat(c string) func(*event.Event)  { return func(e *event.Event) { e.Category = c } }
func role(r string) func(*event.Event) { return func(e *event.Event) { e.Role = r } }

func sample(d time.Duration, host, counter string, v float64) event.Sample {
	return event.Sample{Time: at(d), Host: host, Counter: counter, Value: v}
}

func processEvents(t testing.TB, e *Engine, evs ...event.Event) {
	t.Helper()
	if err := e.ProcessEvents(context.Background(), evs); err != nil {
		t.Fatalf("process events: %v", err)
	}
}

func processSamples(t testing.TB, e *Engine, ss ...event.Sample) {
	t.Helper()
	if err := e.ProcessSamples(context.Background(), ss); err != nil {
		t.Fatalf("process samples: %v", err)
	}
}

func tick(t testing.TB, e *Engine, d time.Duration) {
	t.Helper()
	if err := e.Tick(context.Background(), at(d)); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

// want describes an expected change in an acceptance test.
type want struct {
	kind     alerts.ChangeKind
	rule     string
	key      string
	severity alerts.Severity
	repeats  int
	at       time.Duration
}

func checkChanges(t testing.TB, got []alerts.Change, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d changes, want %d:\n%s", len(got), len(wants), describe(got))
	}
	for i, w := range wants {
		c := got[i]
		if c.Kind != w.kind || c.Alert.Rule != w.rule || c.Alert.Key != w.key ||
			c.Alert.Severity != w.severity || c.Alert.RepeatCount != w.repeats || !c.At.Equal(at(w.at)) {
			t.Errorf("change %d:\n got  %s\n want %s %s %q %s x%d @%v", i, describeOne(c), w.kind, w.rule, w.key, w.severity, w.repeats, w.at)
		}
	}
}

func describe(cs []alerts.Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + describeOne(c) + "\n")
	}
	return b.String()
}

func describeOne(c alerts.Change) string {
	return string(c.Kind) + " " + c.Alert.Rule + " " + strconv.Quote(c.Alert.Key) + " " + string(c.Alert.Severity) +
		" x" + strconv.Itoa(c.Alert.RepeatCount) + " @" + c.At.Sub(t0).String() + " " + string(c.Alert.State)
}
