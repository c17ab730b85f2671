package tracefiles

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Record outcomes, the label values of crmwatch_tracefiles_records_total.
const (
	outcomeShipped   = "shipped"
	outcomeFiltered  = "filtered"
	outcomeMalformed = "malformed"
)

type metrics struct {
	records        *prometheus.CounterVec
	malformedLines prometheus.Counter
	emitDuration   prometheus.Histogram
	emitErrors     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_records_total",
			Help: "Complete trace records by outcome: shipped, filtered (level/category), malformed (no parsable head).",
		}, []string{"outcome"}),
		malformedLines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_malformed_lines_total",
			Help: "Lines inside trace records that fit no part of the trace grammar.",
		}),
		emitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crmwatch_tracefiles_emit_duration_seconds",
			Help:    "Time the sink took to accept a batch of trace events (transport acknowledgement).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		emitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_emit_errors_total",
			Help: "Batches the sink refused; they are retried and the checkpoint waits.",
		}),
	}
	for _, o := range []string{outcomeShipped, outcomeFiltered, outcomeMalformed} {
		m.records.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.records, m.malformedLines, m.emitDuration, m.emitErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tracefiles: register metrics: %w", err)
		}
	}
	return m, nil
}
