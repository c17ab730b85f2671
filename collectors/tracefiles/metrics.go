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
	// outcomeLateContinuation: lines that continued a record already
	// shipped, handed over by the tailer as a record of their own.
	outcomeLateContinuation = "late_continuation"
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
			Help: "Complete trace records by outcome: shipped, filtered (level/category), malformed (no parsable head), late_continuation (lines continuing a record already shipped).",
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
	for _, o := range []string{outcomeShipped, outcomeFiltered, outcomeMalformed, outcomeLateContinuation} {
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

// Label values of the OTLP export metrics.
const (
	dropQueueFull = "queue_full"
	dropShutdown  = "shutdown"
	signalLogs    = "logs"
	signalSpans   = "spans"
)

// otlpMetrics report the optional OTLP export; registered only when it is
// configured, every label pre-initialised at 0.
type otlpMetrics struct {
	dropped  *prometheus.CounterVec
	exported *prometheus.CounterVec
	rejected *prometheus.CounterVec
	errors   prometheus.Counter
}

func newOTLPMetrics(reg prometheus.Registerer, queueLen func() float64) (*otlpMetrics, error) {
	m := &otlpMetrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_otlp_dropped_total",
			Help: "Records not exported over OTLP: queue_full (the receiver is slow or down), shutdown (left when the agent stopped).",
		}, []string{"reason"}),
		exported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_otlp_exported_total",
			Help: "Log records and request spans the OTLP receiver accepted.",
		}, []string{"signal"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_otlp_rejected_total",
			Help: "Log records and spans the OTLP receiver reported as rejected (partial success).",
		}, []string{"signal"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tracefiles_otlp_export_errors_total",
			Help: "Failed OTLP export requests (after the exporter's retries).",
		}),
	}
	for _, r := range []string{dropQueueFull, dropShutdown} {
		m.dropped.WithLabelValues(r)
	}
	for _, s := range []string{signalLogs, signalSpans} {
		m.exported.WithLabelValues(s)
		m.rejected.WithLabelValues(s)
	}
	if reg == nil {
		return m, nil
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crmwatch_tracefiles_otlp_queue_records",
		Help: "Records waiting for the OTLP exporter.",
	}, queueLen)
	for _, c := range []prometheus.Collector{m.dropped, m.exported, m.rejected, m.errors, queue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tracefiles: register OTLP metrics: %w", err)
		}
	}
	return m, nil
}
