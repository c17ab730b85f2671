package rules

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	allKinds     = []Kind{KindEvent, KindThreshold, KindTrend, KindMissing, KindCorrelation}
	errorReasons = []string{"template", "out_of_order", "bad_counter", "send", "dropped_changes"}
)

// metrics are the engine's self-metrics, pre-initialised at 0 so a
// dashboard shows a flat line rather than no data.
type metrics struct {
	events, samples, heartbeats prometheus.Counter
	unknownRole                 prometheus.Counter
	matches                     *prometheus.CounterVec
	raisedV, resolvedV          *prometheus.CounterVec
	errors                      *prometheus.CounterVec
	reloads                     *prometheus.CounterVec
	loaded, reloadOK, openN     prometheus.Gauge
	unsent                      prometheus.Gauge
	reopenedN                   prometheus.Counter

	// matched counts per kind within one call, added at flush so the
	// per-event path does no atomic operation.
	matched [5]int
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events:     prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_events_total", Help: "Events evaluated by the rules engine."}),
		samples:    prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_samples_total", Help: "Counter samples evaluated by the rules engine."}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_heartbeats_total", Help: "Agent heartbeats seen by the rules engine."}),
		unknownRole: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_unknown_role_events_total",
			Help: "Events without a role from hosts whose agent announced no roles (or none was seen): rules for particular roles cannot apply to them."}),
		matches:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_rules_matches_total", Help: "Observations that matched a rule, by rule kind."}, []string{"kind"}),
		raisedV:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_rules_alerts_raised_total", Help: "Alerts raised, by rule kind."}, []string{"kind"}),
		resolvedV: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_rules_alerts_resolved_total", Help: "Alerts resolved by the engine, by rule kind."}, []string{"kind"}),
		errors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_rules_evaluation_errors_total", Help: "Evaluation problems, by reason (template, out_of_order, bad_counter, send, dropped_changes)."}, []string{"reason"}),
		reloads:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_rules_reloads_total", Help: "Rule set loads, by result."}, []string{"result"}),
		loaded:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_rules_loaded", Help: "Enabled rules in the running set."}),
		reloadOK:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_rules_last_reload_success", Help: "1 if the last Load succeeded, 0 if it failed and the previous set kept running."}),
		openN:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_rules_open_alerts", Help: "Alerts the engine holds open."}),
		unsent:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_rules_unsent_changes", Help: "Alert changes kept for resending after a Sender error."}),
		reopenedN: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_alerts_reopened_total", Help: "Resolved alerts reopened because their condition returned within the rule's reopen window."}),
	}
	for _, k := range allKinds {
		m.matches.WithLabelValues(string(k))
		m.raisedV.WithLabelValues(string(k))
		m.resolvedV.WithLabelValues(string(k))
	}
	for _, r := range errorReasons {
		m.errors.WithLabelValues(r)
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	if reg != nil {
		m.events = register(reg, m.events)
		m.samples = register(reg, m.samples)
		m.heartbeats = register(reg, m.heartbeats)
		m.unknownRole = register(reg, m.unknownRole)
		m.matches = register(reg, m.matches)
		m.raisedV = register(reg, m.raisedV)
		m.resolvedV = register(reg, m.resolvedV)
		m.errors = register(reg, m.errors)
		m.reloads = register(reg, m.reloads)
		m.loaded = register(reg, m.loaded)
		m.reloadOK = register(reg, m.reloadOK)
		m.openN = register(reg, m.openN)
		m.unsent = register(reg, m.unsent)
		m.reopenedN = register(reg, m.reopenedN)
	}
	return m
}

// register registers c, reusing an identical collector already registered
// (a second engine on the same registry shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func kindIndex(k Kind) int {
	for i, x := range allKinds {
		if x == k {
			return i
		}
	}
	return 0
}

func (m *metrics) match(k Kind)            { m.matched[kindIndex(k)]++ }
func (m *metrics) raised(k Kind)           { m.raisedV.WithLabelValues(string(k)).Inc() }
func (m *metrics) resolved(k Kind)         { m.resolvedV.WithLabelValues(string(k)).Inc() }
func (m *metrics) evalError(reason string) { m.errors.WithLabelValues(reason).Inc() }

// flushMatches publishes the per-call match counts.
func (m *metrics) flushMatches() {
	for i, n := range m.matched {
		if n > 0 {
			m.matches.WithLabelValues(string(allKinds[i])).Add(float64(n))
			m.matched[i] = 0
		}
	}
}
