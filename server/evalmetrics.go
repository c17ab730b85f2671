package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// evalMetrics are the ingest and evaluator self-metrics, pre-initialised.
type evalMetrics struct {
	messages, malformed, observations, deduped *prometheus.CounterVec
	position                                   *prometheus.GaugeVec
	active                                     prometheus.Gauge
	terms, commitErrors, published             prometheus.Counter
	commitSeconds                              prometheus.Histogram
}

func newEvalMetrics(reg prometheus.Registerer) (*evalMetrics, error) {
	vec := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"stream"})
		v.WithLabelValues("events")
		v.WithLabelValues("samples")
		return v
	}
	m := &evalMetrics{
		messages:     vec("crmwatch_ingest_messages_total", "Messages read from the events and samples streams by the evaluator."),
		malformed:    vec("crmwatch_ingest_malformed_messages_total", "Messages that could not be decoded (skipped and logged)."),
		observations: vec("crmwatch_ingest_observations_total", "Events and samples handed to the rules engine."),
		deduped:      vec("crmwatch_ingest_duplicate_observations_total", "Trace records dropped as already evaluated (an agent re-sent them after a crash)."),
		position:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_ingest_position", Help: "Last stream sequence whose alert changes are committed."}, []string{"stream"}),
		active:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_evaluator_active", Help: "1 while this server holds the evaluator lease and evaluates rules."}),
		terms:        prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_evaluator_terms_total", Help: "Times this server took the evaluator role."}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_evaluator_commit_errors_total", Help: "Commits of alert changes the store refused (retried)."}),
		published:    prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_alert_changes_published_total", Help: "Committed alert changes published on the alert-changes stream."}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crmwatch_evaluator_commit_seconds", Help: "Time to commit one batch's alert changes.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}}),
	}
	for _, c := range []prometheus.Collector{m.messages, m.malformed, m.observations, m.deduped, m.position, m.active, m.terms, m.commitErrors, m.published, m.commitSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("evaluator metrics: %w", err)
		}
	}
	return m, nil
}
