// Package packtest runs pack unit tests (format crmwatch.packtest/v1, parsed
// by packs.ParseTestFile): each case feeds events, samples and heartbeats at
// virtual times to a real rules engine loaded with the packs' farm rules and
// compares the alerts it raises with the expected ones. It is what
// `crmwatch pack test` runs, as `promtool test rules` does for Prometheus.
package packtest

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/rules"
)

// defaultTick is how often the runner calls Engine.Tick, like the server.
const defaultTick = 15 * time.Second

// testStart is the virtual time a test's "at: 0s" stands for.
var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Result is the outcome of one test case.
type Result struct {
	File     string   `json:"file"`
	Name     string   `json:"name"`
	Failures []string `json:"failures,omitempty"`
}

// Passed reports whether the test case met every expectation.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// RunFile parses a test file in fsys and runs each case against the
// packs it names (loaded from the same fsys) with a real rules engine in
// virtual time. An error means the file or its packs could not be used.
func RunFile(ctx context.Context, fsys fs.FS, name string) ([]Result, error) {
	tf, err := packs.ParseTestFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var ps []*packs.Pack
	for _, dir := range tf.PackDirs() {
		sub, err := fs.Sub(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: pack %s: %w", name, dir, err)
		}
		p, err := packs.Load(sub, dir)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	var out []Result
	for _, tc := range tf.Tests {
		ovs, err := loadOverrides(fsys, name, tc.Overrides, ps)
		if err != nil {
			return nil, err
		}
		res := Result{File: name, Name: tc.Name}
		res.Failures, err = runCase(ctx, ps, ovs, tc)
		if err != nil {
			return nil, fmt.Errorf("%s: test %q: %w", name, tc.Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// step is one input or action at a virtual time; order breaks ties so that
// inputs are processed before the tick and the evaluation of that instant.
type step struct {
	at    time.Duration
	order int
	hb    *packs.TestHeartbeat
	ev    *event.Event
	s     *event.Sample
	eval  *packs.TestEval
}

func runCase(ctx context.Context, ps []*packs.Pack, ovs []*packs.Overrides, tc packs.TestCase) ([]string, error) {
	var rs []rules.Rule
	for _, p := range ps {
		eff, err := packs.FarmRules(p, ovs)
		if err != nil {
			return nil, err
		}
		rs = append(rs, eff...)
	}
	rec := &recorder{}
	eng := rules.NewEngine(rules.Options{Sender: rec, Logger: slog.New(slog.DiscardHandler)})
	if err := eng.Load(rs); err != nil {
		return nil, fmt.Errorf("loading rules into the engine: %w", err)
	}
	steps := timeline(tc)
	var failures []string
	prevEval := testStart.Add(-time.Nanosecond)
	for i := 0; i < len(steps); {
		at := steps[i].at
		now := testStart.Add(at)
		var evs []event.Event
		var ss []event.Sample
		var evals []*packs.TestEval
		tick := false
		for ; i < len(steps) && steps[i].at == at; i++ {
			st := steps[i]
			switch {
			case st.hb != nil:
				if err := eng.Heartbeat(ctx, st.hb.Host, st.hb.Roles, now); err != nil {
					return nil, err
				}
			case st.ev != nil:
				evs = append(evs, *st.ev)
			case st.s != nil:
				ss = append(ss, *st.s)
			case st.eval != nil:
				evals = append(evals, st.eval)
			default:
				tick = true
			}
		}
		if err := eng.ProcessEvents(ctx, evs); err != nil {
			return nil, err
		}
		if err := eng.ProcessSamples(ctx, ss); err != nil {
			return nil, err
		}
		if tick || len(evals) > 0 {
			if err := eng.Tick(ctx, now); err != nil {
				return nil, err
			}
		}
		for _, ev := range evals {
			failures = append(failures, compareAlerts(ev, rec.at(prevEval, now, ev.Rules))...)
			prevEval = now
		}
	}
	return failures, nil
}

// timeline expands the test's inputs into ordered steps.
func timeline(tc packs.TestCase) []step {
	var steps []step
	last := time.Duration(0)
	for _, e := range tc.Eval {
		last = max(last, e.At.D())
	}
	for i := range tc.Heartbeats {
		hb := &tc.Heartbeats[i]
		until := hb.Until.D()
		if hb.Every <= 0 || until < hb.At.D() {
			until = hb.At.D()
		}
		for t := hb.At.D(); t <= until && t <= last; t += max(hb.Every.D(), time.Second) {
			steps = append(steps, step{at: t, order: 0, hb: hb})
		}
	}
	for _, te := range tc.Events {
		n := max(te.Repeat, 1)
		for k := 0; k < n; k++ {
			lv, _ := event.ParseLevel(te.Level)
			at := te.At.D() + time.Duration(k)*te.Every.D()
			ev := &event.Event{Time: testStart.Add(at), Host: te.Host, Role: te.Role, Source: te.Source, EventID: te.EventID,
				Level: lv, Organization: te.Organization, Category: te.Category, Process: te.Process, Message: te.Message,
				Fields: maps.Clone(te.Fields), Origin: event.Origin{Collector: "packtest"}}
			steps = append(steps, step{at: at, order: 1, ev: ev})
		}
	}
	for _, ts := range tc.Samples {
		every := cmp.Or(ts.Every.D(), defaultTick)
		for k, v := range ts.Values {
			if math.IsNaN(v) {
				continue
			}
			at := ts.At.D() + time.Duration(k)*every
			s := &event.Sample{Time: testStart.Add(at), Host: ts.Host, Role: ts.Role, Counter: ts.Counter, Value: v}
			steps = append(steps, step{at: at, order: 2, s: s})
		}
	}
	tick := cmp.Or(tc.Tick.D(), defaultTick)
	for t := time.Duration(0); t <= last; t += tick {
		steps = append(steps, step{at: t, order: 3})
	}
	for i := range tc.Eval {
		steps = append(steps, step{at: tc.Eval[i].At.D(), order: 4, eval: &tc.Eval[i]})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.order, b.order)) })
	return steps
}

// recorder is the engine's Sender: it keeps the latest state of each alert
// and when it was resolved.
type recorder struct {
	latest   map[string]alerts.Alert
	resolved map[string]time.Time
	order    []string
}

func (r *recorder) Send(_ context.Context, cs []alerts.Change) error {
	if r.latest == nil {
		r.latest, r.resolved = map[string]alerts.Alert{}, map[string]time.Time{}
	}
	for _, c := range cs {
		if _, seen := r.latest[c.Alert.ID]; !seen {
			r.order = append(r.order, c.Alert.ID)
		}
		r.latest[c.Alert.ID] = c.Alert
		if c.Kind == alerts.ChangeResolved {
			r.resolved[c.Alert.ID] = c.At
		}
	}
	return nil
}

// at returns alerts open at now plus those resolved in (prev, now].
func (r *recorder) at(prev, now time.Time, only []string) []alerts.Alert {
	var out []alerts.Alert
	for _, id := range r.order {
		a := r.latest[id]
		if len(only) > 0 && !slices.Contains(only, a.Rule) {
			continue
		}
		if a.State.Open() {
			out = append(out, a)
			continue
		}
		if t, ok := r.resolved[id]; ok && t.After(prev) && !t.After(now) {
			out = append(out, a)
		}
	}
	return out
}

// compareAlerts matches expected to actual alerts and describes every
// difference as a diff: "-" expected but missing, "+" present but not
// expected.
func compareAlerts(ev *packs.TestEval, actual []alerts.Alert) []string {
	used := make([]bool, len(actual))
	var missing []packs.TestAlert
	for _, want := range ev.Alerts {
		found := false
		for i, a := range actual {
			if !used[i] && alertMatches(want, a) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, want)
		}
	}
	var extra []alerts.Alert
	for i, a := range actual {
		if !used[i] {
			extra = append(extra, a)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "at %s: alerts differ (- expected, + actual)", ev.At)
	for _, w := range missing {
		fmt.Fprintf(&b, "\n  - %s", formatExpected(w))
	}
	for _, a := range extra {
		fmt.Fprintf(&b, "\n  + %s", formatActual(a))
	}
	return []string{b.String()}
}

func alertMatches(w packs.TestAlert, a alerts.Alert) bool {
	if w.Rule != a.Rule || w.Severity != string(a.Severity) {
		return false
	}
	if w.State != "" && w.State != string(a.State) {
		return false
	}
	if w.RepeatCount != 0 && w.RepeatCount != a.RepeatCount {
		return false
	}
	if w.Hosts != nil && !sameSet(w.Hosts, a.Hosts) {
		return false
	}
	if w.Organizations != nil && !sameSet(w.Organizations, a.Organizations) {
		return false
	}
	for k, v := range w.Fields {
		if a.Fields[k] != v {
			return false
		}
	}
	return w.Summary == "" || w.Summary == a.Summary
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func formatExpected(w packs.TestAlert) string {
	s := fmt.Sprintf("{rule: %s, severity: %s", w.Rule, w.Severity)
	if w.State != "" {
		s += ", state: " + w.State
	}
	if w.RepeatCount != 0 {
		s += fmt.Sprintf(", repeat_count: %d", w.RepeatCount)
	}
	if w.Hosts != nil {
		s += fmt.Sprintf(", hosts: %v", w.Hosts)
	}
	if w.Organizations != nil {
		s += fmt.Sprintf(", organizations: %v", w.Organizations)
	}
	if len(w.Fields) > 0 {
		s += fmt.Sprintf(", fields: %v", w.Fields)
	}
	if w.Summary != "" {
		s += fmt.Sprintf(", summary: %q", w.Summary)
	}
	return s + "}"
}

func formatActual(a alerts.Alert) string {
	s := fmt.Sprintf("{rule: %s, severity: %s, state: %s, repeat_count: %d, hosts: %v, organizations: %v",
		a.Rule, a.Severity, a.State, a.RepeatCount, a.Hosts, a.Organizations)
	if len(a.Fields) > 0 {
		s += fmt.Sprintf(", fields: %v", a.Fields)
	}
	return s + fmt.Sprintf(", summary: %q}", a.Summary)
}

// loadOverrides parses a test case's overrides files (relative to it).
func loadOverrides(fsys fs.FS, testFile string, names []string, ps []*packs.Pack) ([]*packs.Overrides, error) {
	var out []*packs.Overrides
	for _, n := range names {
		ov, err := packs.ParseOverrides(fsys, path.Join(path.Dir(testFile), n), ps)
		if err != nil {
			return nil, err
		}
		out = append(out, ov)
	}
	return out, nil
}
