package spool

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	written, sent  prometheus.Counter
	dropped        *prometheus.CounterVec // by level
	droppedSamples prometheus.Counter
	refused        prometheus.Counter
	corrupt        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, bytes func() float64) (*metrics, error) {
	m := &metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_spool_written_observations_total",
			Help: "Events and samples written to the agent's disk spool."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_spool_sent_observations_total",
			Help: "Events and samples the spool handed to the transport (acknowledged)."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_spool_dropped_events_total",
			Help: "Events dropped because the spool was full, by level: verbose, info, then warning; never error or critical."}, []string{"level"}),
		droppedSamples: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_spool_dropped_samples_total",
			Help: "Samples dropped because the spool was full."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_spool_refused_batches_total",
			Help: "Batches of error and critical events refused at twice the spool's size (the collector retries them)."}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_spool_corrupt_records_total",
			Help: "Damaged or cut records found in the spool (the rest of their segment is skipped)."}),
	}
	for _, n := range slotNames {
		m.dropped.WithLabelValues(n)
	}
	if reg == nil {
		return m, nil
	}
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crmwatch_spool_bytes",
		Help: "Bytes waiting in the agent's disk spool."}, bytes)
	for _, c := range []prometheus.Collector{m.written, m.sent, m.dropped, m.droppedSamples, m.refused, m.corrupt, size} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("spool metrics: %w", err)
		}
	}
	return m, nil
}
