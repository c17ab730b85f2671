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
	hosts map[string]*hostInfo // from heartbeats
	now   time.Time            // latest observation or tick time
	swept time.Time            // last stale-series sweep

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
	e.set = set
	e.met.loaded.Set(float64(len(set.rules)))
	e.met.reloadOK.Set(1)
	e.met.reloads.WithLabelValues("success").Inc()
	e.log.Info("rules loaded", "rules", len(set.rules), "event_index", set.nEntries, "counters", len(set.samples), "scoped_hosts", len(set.hosts))
	return nil
}

// Restore resumes consolidation of alerts that were open before a restart
// (match by Rule and Key). Call it after the first Load: alerts whose rule
// is not loaded are resolved, and that change goes out with the next call.
// An alert already held open by the engine is left as it is.
func (e *Engine) Restore(open []alerts.Alert) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range open {
		rid := a.Rule
		if v := a.Fields[VariantField]; v != "" {
			rid += "@" + v
		}
		if !a.State.Open() || e.lookup(rid, a.Key) != nil {
			continue
		}
		st := &alertState{a: a, rid: rid, rule: e.set.byID[rid]}
		st.a = st.snapshot()
		if len(a.Hosts) > 0 {
			st.host = a.Hosts[0]
		}
		if len(a.Organizations) > 0 {
			st.org = a.Organizations[0]
		}
		st.counter, st.instance = a.Fields["counter"], a.Fields["instance"]
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

// MarkAcknowledged records that an operator acknowledged alert id, so the
// changes the engine sends for it later carry that state. It reports
// whether the alert is open in the engine.
func (e *Engine) MarkAcknowledged(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.findID(id); st != nil {
		st.a.State = alerts.StateAcknowledged
		return true
	}
	return false
}

// Forget drops alert id without a change (an operator resolved it in the
// store), so the next match raises a new alert. It reports whether the
// alert was open in the engine.
func (e *Engine) Forget(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.findID(id)
	if st == nil {
		return false
	}
	delete(e.open[st.rid], st.a.Key)
	e.nOpen--
	e.met.openN.Set(float64(e.nOpen))
	return true
}

func (e *Engine) findID(id string) *alertState {
	for _, m := range e.open {
		for _, st := range m {
			if st.a.ID == id {
				return st
			}
		}
	}
	return nil
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
