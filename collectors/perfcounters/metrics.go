package perfcounters

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	samples     prometheus.Counter
	readErrors  prometheus.Counter
	emitErrors  prometheus.Counter
	unavailable prometheus.Gauge
	truncated   prometheus.Counter
	malformed   prometheus.Counter
	readTime    prometheus.Histogram

	scrapeDuration *prometheus.GaugeVec
	scrapeSuccess  *prometheus.GaugeVec
	scrapeSamples  *prometheus.GaugeVec
	scrapeUnmapped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, targets []string) (*metrics, error) {
	m := &metrics{
		samples: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_perfcounters_samples_total",
			Help: "Counter samples handed to the transport."}),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_perfcounters_read_errors_total",
			Help: "Reads of the counter source (PDH, /proc) that failed as a whole."}),
		emitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_perfcounters_emit_errors_total",
			Help: "Sample batches the transport refused (dropped: counters are read again next interval)."}),
		unavailable: prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_perfcounters_unavailable_paths",
			Help: "Wanted counter paths the source did not have at the last read (not installed on this host, or no instance)."}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_perfcounters_truncated_instances_total",
			Help: "Instances of wildcard paths dropped over max_instances."}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_perfcounters_malformed_lines_total",
			Help: "Lines of /proc files the Linux source could not read."}),
		readTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crmwatch_perfcounters_read_duration_seconds",
			Help: "Time one read of the counter source took.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)}),
		scrapeDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_perfcounters_scrape_duration_seconds",
			Help: "Duration of the last scrape of a Prometheus target."}, []string{"target"}),
		scrapeSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_perfcounters_scrape_success",
			Help: "1 if the last scrape of a Prometheus target succeeded, else 0."}, []string{"target"}),
		scrapeSamples: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_perfcounters_scrape_samples",
			Help: "Counter samples the last scrape of a target mapped."}, []string{"target"}),
		scrapeUnmapped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_perfcounters_scrape_unmapped_total",
			Help: "Series a mapping selected but could not turn into a counter path (label missing, invalid path)."}, []string{"target"}),
	}
	for _, t := range targets {
		m.scrapeDuration.WithLabelValues(t)
		m.scrapeSuccess.WithLabelValues(t)
		m.scrapeSamples.WithLabelValues(t)
		m.scrapeUnmapped.WithLabelValues(t)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.samples, m.readErrors, m.emitErrors, m.unavailable, m.truncated, m.malformed,
		m.readTime, m.scrapeDuration, m.scrapeSuccess, m.scrapeSamples, m.scrapeUnmapped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("%s: register metrics: %w", Type, err)
		}
	}
	return m, nil
}
