package snmptrap

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
)

type metrics struct {
	traps        *prometheus.CounterVec // by version
	rejected     *prometheus.CounterVec // by reason
	unknown      prometheus.Counter
	dropped      *prometheus.CounterVec // by level
	emitDuration prometheus.Histogram
	emitErrors   prometheus.Counter
}

// levels are the label values of the dropped counter.
var levels = []event.Level{event.LevelVerbose, event.LevelInfo, event.LevelWarning, event.LevelError, event.LevelCritical}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) (*metrics, error) {
	m := &metrics{
		traps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_snmptrap_traps_total",
			Help: "Traps and informs accepted, by SNMP version (1, 2c, 3).",
		}, []string{"version"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_snmptrap_rejected_total",
			Help: "Packets refused, by reason: malformed, unknown_community, unknown_user, unknown_engine_id, authentication, security_level, unsupported, not_a_trap, overload (read faster than it could be decoded).",
		}, []string{"reason"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_snmptrap_unknown_traps_total",
			Help: "Accepted traps whose OID no mapping names (shipped at unknown_level).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_snmptrap_dropped_total",
			Help: "Traps dropped because the in-memory queue to the sink was full, by level.",
		}, []string{"level"}),
		emitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crmwatch_snmptrap_emit_duration_seconds",
			Help:    "Time the sink took to accept a batch of trap events.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
		emitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_snmptrap_emit_errors_total",
			Help: "Batches the sink refused; they are offered again.",
		}),
	}
	for _, v := range []string{"1", "2c", "3"} {
		m.traps.WithLabelValues(v)
	}
	for _, r := range Reasons {
		m.rejected.WithLabelValues(r)
	}
	for _, l := range levels {
		m.dropped.WithLabelValues(l.String())
	}
	if reg == nil {
		return m, nil
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crmwatch_snmptrap_queue_events",
		Help: "Trap events waiting for the sink.",
	}, queueLen)
	for _, c := range []prometheus.Collector{m.traps, m.rejected, m.unknown, m.dropped, m.emitDuration, m.emitErrors, queue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("snmptrap: register metrics: %w", err)
		}
	}
	return m, nil
}
