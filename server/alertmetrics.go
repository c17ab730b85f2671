package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/alerts"
	"crmwatch/store"
)

// alertCollector exposes the open alerts of the store at scrape time, so
// dashboards can show alerts by severity and state and per organization
// (trace errors name the organization) without a second source of truth.
// The open set is small (consolidated alerts), so one read per scrape is
// cheap; a failed read drops these series from that scrape and counts it.
type alertCollector struct {
	st      store.Alerts
	open    *prometheus.Desc
	perOrg  *prometheus.Desc
	errors  prometheus.Counter
	timeout time.Duration
}

// Alert series names; the dashboards of the built-in pack query them.
const (
	metricAlertsOpen         = "crmwatch_alerts_open"
	metricAlertsOrganization = "crmwatch_alerts_open_organization"
)

func newAlertCollector(st store.Alerts) *alertCollector {
	return &alertCollector{
		st: st,
		open: prometheus.NewDesc(metricAlertsOpen,
			"Open alerts in the store, by severity and state (new, acknowledged).", []string{"severity", "state"}, nil),
		perOrg: prometheus.NewDesc(metricAlertsOrganization,
			"Open alerts naming a CRM organization, by organization and severity (an alert naming two counts for each).", []string{"organization", "severity"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_alerts_scrape_errors_total",
			Help: "Scrapes in which the open alerts could not be read from the store (their series were left out)."}),
		timeout: 5 * time.Second,
	}
}

func (c *alertCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.perOrg
	c.errors.Describe(ch)
}

var (
	openStates = []alerts.State{alerts.StateNew, alerts.StateAcknowledged}
	severities = []alerts.Severity{alerts.SeverityInfo, alerts.SeverityWarning, alerts.SeverityError, alerts.SeverityCritical}
)

func (c *alertCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	// resolvedSince in the future: open alerts only.
	as, err := c.st.EngineAlerts(ctx, time.Now().Add(24*time.Hour))
	if err != nil {
		c.errors.Inc()
		return
	}
	type sevState struct {
		sev   alerts.Severity
		state alerts.State
	}
	type orgSev struct {
		org string
		sev alerts.Severity
	}
	open := map[sevState]int{}
	perOrg := map[orgSev]int{}
	for _, a := range as {
		if !a.State.Open() {
			continue
		}
		open[sevState{a.Severity, a.State}]++
		for _, o := range a.Organizations {
			if o != "" {
				perOrg[orgSev{o, a.Severity}]++
			}
		}
	}
	// Every severity and state is present (0 when none), so a panel shows
	// a flat line rather than no data.
	for _, sev := range severities {
		for _, st := range openStates {
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(open[sevState{sev, st}]), string(sev), string(st))
		}
	}
	for k, n := range perOrg {
		ch <- prometheus.MustNewConstMetric(c.perOrg, prometheus.GaugeValue, float64(n), k.org, string(k.sev))
	}
}
