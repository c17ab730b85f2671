package rules

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/alerts"
)

// Options configure an Engine.
type Options struct {
	// Sender receives alert changes; it is called synchronously from
	// Process*, Heartbeat and Tick, at most once per call. Nil discards.
	Sender alerts.Sender
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the self-metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

// Engine evaluates a rule set against events, samples and heartbeats and
// keeps the open alerts. Time is the observations' own time and the now
// given to Tick, never the wall clock, so tests and `pack test` drive
// virtual time. All methods are safe for concurrent use.
type Engine struct {
	mu     sync.Mutex
	set    *ruleSet
	sender alerts.Sender
	log    *slog.Logger
	met    *metrics

	open  map[string]map[string]*alertState // rule id → key → open alert
	nOpen int
	// recent are resolved alerts kept for their rule's reopen window.
	recent  map[string]map[string]*alertState
	nRecent int
	hosts   map[string]*hostInfo // from heartbeats
	now     time.Time            // latest observation or tick time
	swept   time.Time            // last stale-series sweep
	// liveSince is when this engine started judging liveness (Resume):
	// silence before it is the server's own downtime, not the agents'.
	liveSince time.Time

	touched []*alertState // alerts changed by the current call
	unsent  []alerts.Change
	seq     uint64 // event sequence for index de-duplication

	roleless roleless

	buf     bytes.Buffer
	keyBuf  []byte
	lowBuf  []byte
	hostBuf []byte
	cands   []*bucket
}

type hostInfo struct {
	roles []string
	last  time.Time
}

// NewEngine returns an engine with an empty rule set.
func NewEngine(opts Options) *Engine {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{
		sender: opts.Sender,
		log:    log.With("component", "rules"),
		met:    newMetrics(opts.Registerer),
		open:   map[string]map[string]*alertState{},
		recent: map[string]map[string]*alertState{},
		hosts:  map[string]*hostInfo{},
		set:    emptySet(),
	}
	return e
}

// Load compiles and validates the whole set, then swaps it in atomically.
// On error the running set stays and the error lists every problem.
// Open alerts of rules that survive keep consolidating (and their windows
// and series are kept when the rule is unchanged); alerts of rules that
// were removed, disabled or regrouped are resolved, and those changes go
// out with the next Process*, Heartbeat or Tick call.
func (e *Engine) Load(rs []Rule) error {
	set, err := compileSet(rs)
	if err != nil {
		e.met.reloadOK.Set(0)
		e.met.reloads.WithLabelValues("failure").Inc()
		return fmt.Errorf("rules: load: the running rule set stays in place: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.set
	for i, r := range set.rules {
		if prev := old.byID[r.id]; prev != nil && reflect.DeepEqual(prev.spec, r.spec) {
			set.states[i] = old.states[prev.pos]
		}
	}
	for id, m := range e.open {
		nr, prev := set.byID[id], old.byID[id]
		keep := nr != nil && (prev == nil || (nr.kind == prev.kind && slices.Equal(nr.groupBy, prev.groupBy)))
		for _, st := range m {
			if keep {
				st.rule = nr
				continue
			}
			e.resolveOpen(st, e.now)
		}
	}
	for id, m := range e.recent {
		nr := set.byID[id]
		for _, st := range m {
			if nr == nil {
				e.forgetRecent(st)
			} else {
				st.rule = nr
			}
		}
	}
	e.set = set
	e.met.loaded.Set(float64(len(set.rules)))
	e.met.reloadOK.Set(1)
	e.met.reloads.WithLabelValues("success").Inc()
	e.log.Info("rules loaded", "rules", len(set.rules), "event_index", set.nEntries, "counters", len(set.samples), "scoped_hosts", len(set.hosts))
	return nil
}

// Restore resumes consolidation of alerts that were open before a restart
// or a hand-over (match by Rule and Key), and remembers resolved ones for
// their rule's reopen window. Call it after the first Load: open alerts
// whose rule is not loaded are resolved, and that change goes out with the
// next call. An alert the engine already holds is left as it is.
func (e *Engine) Restore(list []alerts.Alert) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range list {
		rid := a.Rule
		if v := a.Fields[VariantField]; v != "" {
			rid += "@" + v
		}
		if !a.State.Valid() || e.lookup(rid, a.Key) != nil || e.recent[rid][a.Key] != nil {
			continue
		}
		st := &alertState{a: a, rid: rid, rule: e.set.byID[rid], evs: alerts.NewEventList(alerts.ChangeEvents)}
		st.a = st.snapshot()
		if len(a.Hosts) > 0 {
			st.host = a.Hosts[0]
		}
		if len(a.Organizations) > 0 {
			st.org = a.Organizations[0]
		}
		st.counter, st.instance = a.Fields["counter"], a.Fields["instance"]
		if !a.State.Open() {
			if st.rule != nil && a.ResolvedAt != nil {
				e.keepRecent(st)
			}
			continue
		}
		st.a.State = alerts.StateNew // operators' states live in the store
		m := e.open[rid]
		if m == nil {
			m = map[string]*alertState{}
			e.open[rid] = m
		}
		m[a.Key] = st
		e.nOpen++
		if st.rule == nil {
			e.resolveOpen(st, e.now)
		}
	}
	e.met.openN.Set(float64(e.nOpen))
}

// MaxReopenWithin is the longest reopen window of the loaded rules: the
// server restores alerts resolved that recently.
func (e *Engine) MaxReopenWithin() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var d time.Duration
	for _, r := range e.set.rules {
		d = max(d, r.reopenWithin)
	}
	return d
}

// Resume starts liveness judgement at now: an agent, counter or expected
// event counts as silent only from the later of its last sighting and now,
// so a server that was down (or just took over) does not blame agents for
// its own absence. The server calls it when it starts evaluating.
func (e *Engine) Resume(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.liveSince = now
	e.advance(now)
}

// Reset forgets every alert and all evaluation state, keeping the loaded
// rules and the metrics: a server that lost the evaluator role and may win
// it back later starts again from the store.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.open, e.recent = map[string]map[string]*alertState{}, map[string]map[string]*alertState{}
	e.nOpen, e.nRecent = 0, 0
	e.hosts = map[string]*hostInfo{}
	e.now, e.swept, e.liveSince = time.Time{}, time.Time{}, time.Time{}
	clear(e.touched)
	e.touched, e.unsent = e.touched[:0], nil
	for i := range e.set.states {
		e.set.states[i] = newRuleState()
	}
	e.met.openN.Set(0)
	e.met.unsent.Set(0)
}

// Flush hands changes a failing Sender did not take to it again.
func (e *Engine) Flush(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.flush(ctx)
}

// resolveOpen resolves st at the latest known time (never before its last
// occurrence).
func (e *Engine) resolveOpen(st *alertState, at time.Time) {
	if at.IsZero() || at.Before(st.a.LastSeen) {
		at = st.a.LastSeen
	}
	e.resolve(st, at)
}

// OpenAlerts returns copies of the open alerts, oldest first.
func (e *Engine) OpenAlerts() []alerts.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]alerts.Alert, 0, e.nOpen)
	for _, m := range e.open {
		for _, st := range m {
			out = append(out, st.snapshot())
		}
	}
	slices.SortFunc(out, func(a, b alerts.Alert) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (e *Engine) advance(t time.Time) {
	if t.After(e.now) {
		e.now = t
	}
}

// flush turns the call's work into changes and hands them to the Sender in
// one call. Changes a failing Sender did not take are kept (bounded) and
// sent first next time, so a store outage loses no alert.
func (e *Engine) flush(ctx context.Context) error {
	e.met.flushMatches()
	e.group()
	out := e.unsent
	e.unsent = nil
	for _, st := range e.touched {
		out = e.changes(st, out)
	}
	clear(e.touched)
	e.touched = e.touched[:0]
	e.met.openN.Set(float64(e.nOpen))
	if len(out) == 0 || e.sender == nil {
		return nil
	}
	if err := e.sender.Send(ctx, out); err != nil {
		if n := len(out) - maxUnsent; n > 0 {
			out = out[n:]
			e.met.errors.WithLabelValues("dropped_changes").Add(float64(n))
		}
		e.unsent = out
		e.met.unsent.Set(float64(len(out)))
		e.met.evalError("send")
		return fmt.Errorf("rules: sending %d alert changes: %w (kept and sent again with the next call)", len(out), err)
	}
	e.met.unsent.Set(0)
	return nil
}
