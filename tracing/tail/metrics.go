package tail

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the tailer's self-metrics, all pre-initialised at 0.
type metrics struct {
	filesWatched prometheus.Gauge
	bytesRead    prometheus.Counter
	records      prometheus.Counter
	truncations  prometheus.Counter
	missed       prometheus.Counter
	oversize     prometheus.Counter
	// lateContinuations counts Continued records.
	lateContinuations prometheus.Counter
	nulBytes          prometheus.Counter
	errors            *prometheus.CounterVec
}

// errorOps are the label values of crmwatch_tail_errors_total.
var errorOps = []string{"scan", "open", "read", "handler", "checkpoint", "notify"}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		filesWatched: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmwatch_tail_files_watched", Help: "Files the tailer is following.",
		}),
		bytesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_read_bytes_total", Help: "Bytes read from followed files.",
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_records_total", Help: "Complete records accepted by the handler.",
		}),
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_truncations_total", Help: "Files found truncated or rewritten in place (copytruncate).",
		}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_possibly_missed_bytes_total", Help: "Bytes a truncation removed before they were read.",
		}),
		oversize: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_oversize_records_total", Help: "Records cut at the maximum record size.",
		}),
		lateContinuations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_late_continuations_total",
			Help: "Lines that continued a record already handed over (the writer paused inside a record longer than the idle time).",
		}),
		nulBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tail_nul_bytes_skipped_total",
			Help: "NUL bytes skipped (the hole a copytruncate leaves under a writer without O_APPEND).",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tail_errors_total", Help: "Tailer errors by operation.",
		}, []string{"op"}),
	}
	for _, op := range errorOps {
		m.errors.WithLabelValues(op)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.filesWatched, m.bytesRead, m.records, m.truncations, m.missed, m.oversize, m.lateContinuations, m.nulBytes, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("tail: register metrics: %w", err)
		}
	}
	return m, nil
}
