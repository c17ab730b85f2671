package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what each receiver did; every receiver's counters start at
// 0 so a rate() works from the first scrape (Prometheus' notifier does the
// same).
type Metrics struct {
	sent     *prometheus.CounterVec
	failed   *prometheus.CounterVec
	retried  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the notification metrics on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_notify_sent_total",
			Help: "Notifications a receiver accepted."}, []string{"receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_notify_failed_total",
			Help: "Notifications given up on: the receiver refused them for good or until the retries ran out."}, []string{"receiver"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_notify_retried_total",
			Help: "Notifications sent again after a failure that may pass."}, []string{"receiver"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_notify_dropped_total",
			Help: "Alert changes routed to a receiver but not notified, by reason (suppressed, deduplicated, self: the alert about the receiver itself failing)."}, []string{"receiver", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crmwatch_notify_send_duration_seconds",
			Help:    "Time of one send to a receiver (one attempt).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"receiver"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sent, m.failed, m.retried, m.dropped, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("notify: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Init creates the receiver's series at 0.
func (m *Metrics) Init(receiver string) {
	m.sent.WithLabelValues(receiver)
	m.failed.WithLabelValues(receiver)
	m.retried.WithLabelValues(receiver)
	m.dropped.WithLabelValues(receiver, dropSuppressed)
	m.dropped.WithLabelValues(receiver, dropDeduplicated)
	m.dropped.WithLabelValues(receiver, dropSelf)
	m.duration.WithLabelValues(receiver)
}

// Reasons a routed change is not notified.
const (
	dropSuppressed   = "suppressed"
	dropDeduplicated = "deduplicated"
	// dropSelf: the alert about this receiver failing (RuleReceiverFailing).
	dropSelf = "self"
)
