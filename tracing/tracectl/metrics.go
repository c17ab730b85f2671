package tracectl

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/tracing/settings"
)

// metrics report the agent's trace control on its own /metrics.
type metrics struct {
	acks       *prometheus.CounterVec
	guardTrips prometheus.Counter
	holding    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmwatch_tracectl_acknowledgements_total",
			Help: "Trace-setting acknowledgements by state (applied, restored, failed, expired, guard).",
		}, []string{"state"}),
		guardTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmwatch_tracectl_guard_trips_total",
			Help: "Times the disk guard turned CRM tracing back off.",
		}),
		holding: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmwatch_tracectl_holding",
			Help: "1 while crmwatch holds changed CRM trace values it will restore.",
		}),
	}
	for _, s := range []settings.State{settings.StateApplied, settings.StateRestored, settings.StateFailed, settings.StateExpired, settings.StateGuard} {
		m.acks.WithLabelValues(string(s))
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{m.acks, m.guardTrips, m.holding} {
			if err := reg.Register(col); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	return m, nil
}
