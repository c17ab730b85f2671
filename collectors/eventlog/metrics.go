package eventlog

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of the collector's metrics.
const (
	modeLive  = "live"
	modeFiles = "files"

	outcomeShipped  = "shipped"
	outcomeFiltered = "filtered"

	dropCorrupt    = "corrupt"     // records in corrupt EVTX chunks or after a broken record
	dropBrokenFile = "broken_file" // files neither EVTX nor event XML, or whose XML breaks off

	fileImported = "imported"
	fileFailed   = "failed"
)

// metrics are the collector's self-metrics (STYLE 11: duration, success,
// dropped, malformed), every label pre-initialised at 0.
type metrics struct {
	duration   *prometheus.HistogramVec
	success    *prometheus.GaugeVec
	events     *prometheus.CounterVec
	malformed  prometheus.Counter
	dropped    *prometheus.CounterVec
	files      *prometheus.CounterVec
	emitErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crmwatch_eventlog_duration_seconds",
			Help:    "Time to read and hand over one batch of live events, or to import one dropped file.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"mode"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crmwatch_eventlog_success",
			Help: "1 if the last read and hand-over of the mode succeeded, else 0.",
		}, []string{"mode"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_eventlog_events_total",
			Help: "Decoded events by outcome: shipped (acknowledged by the centre) or filtered (source or level not wanted).",
		}, []string{"outcome"}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_eventlog_malformed_total",
			Help: "Events that decoded into something without provider, event id or time (skipped).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_eventlog_dropped_total",
			Help: "Events lost before decoding: corrupt (in corrupt EVTX chunks or after a broken record), broken_file (dropped files that are not EVTX or event XML, or whose XML breaks off; counted once per file).",
		}, []string{"reason"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_eventlog_files_total",
			Help: "Files of the drop folder by outcome: imported, failed (not an event file, or broken).",
		}, []string{"outcome"}),
		emitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_eventlog_emit_errors_total",
			Help: "Batches the centre did not acknowledge; they are offered again and bookmarks and import state wait.",
		}),
	}
	for _, mode := range []string{modeLive, modeFiles} {
		m.duration.WithLabelValues(mode)
		m.success.WithLabelValues(mode)
	}
	for _, o := range []string{outcomeShipped, outcomeFiltered} {
		m.events.WithLabelValues(o)
	}
	for _, r := range []string{dropCorrupt, dropBrokenFile} {
		m.dropped.WithLabelValues(r)
	}
	for _, o := range []string{fileImported, fileFailed} {
		m.files.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.duration, m.success, m.events, m.malformed, m.dropped, m.files, m.emitErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("%s: register metrics: %w", Type, err)
		}
	}
	return m, nil
}
