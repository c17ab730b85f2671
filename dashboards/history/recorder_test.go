package history_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/dashboards"
	"crmwatch/dashboards/history"
)

// The server's own metrics: recorded once a minute, panels over them are
// drawn from the readings (sum by, rate),
// labelled with when the readings start; agent metrics stay not recorded;
// readings older than a day are dropped.
func TestRecorderServesServerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	open := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_alerts_open", Help: "h"}, []string{"severity", "state"})
	beats := prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rules_heartbeats_total", Help: "h"})
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "crmwatch_not_for_dashboards", Help: "h"})
	reg.MustRegister(open, beats, other)
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	now := start
	rec := history.NewRecorder(reg, time.Minute, func() time.Time { return now })
	for i := range 30 {
		open.WithLabelValues("critical", "new").Set(float64(i))
		open.WithLabelValues("critical", "acknowledged").Set(1)
		open.WithLabelValues("warning", "new").Set(2)
		beats.Add(60) // one heartbeat a second
		rec.Record()
		now = now.Add(time.Minute)
	}
	if !rec.Since().Equal(start) {
		t.Fatalf("since %s", rec.Since())
	}
	ctx := context.Background()
	rg := history.Range{From: start, To: now}
	ds := builtin(t)
	q := func(dash, key string, i int) dashboards.Query {
		for _, d := range ds {
			for _, p := range d.Panels {
				if d.ID == dash && p.Key == key {
					return p.Queries[i]
				}
			}
		}
		t.Fatalf("no panel %s/%s", dash, key)
		return dashboards.Query{}
	}
	res, err := history.EvaluateWith(ctx, emptySource{}, rec, q("crm-overview", "open-alerts", 0), rg)
	if err != nil || res.NotRecorded != "" || len(res.Series) != 2 || res.RecordedSince == nil || !res.RecordedSince.Equal(start) {
		t.Fatalf("open alerts by severity: %+v (err %v)", res, err)
	}
	crit := res.Series[0]
	if crit.Name != "critical" || len(crit.Points) != 30 || crit.Points[29][1] != 29+1 || crit.Points[0][0] != float64(start.Unix()) {
		t.Errorf("critical: %+v", crit)
	}
	hb, err := history.EvaluateWith(ctx, emptySource{}, rec, q("crm-agents", "heartbeats", 0), rg)
	if err != nil || len(hb.Series) != 1 {
		t.Fatalf("heartbeats: %+v (err %v)", hb, err)
	}
	for _, p := range hb.Series[0].Points {
		if math.Abs(p[1]-60) > 1e-9 { // rate per second × 60: one a second
			t.Fatalf("heartbeats per minute %v, want 60 at every reading", hb.Series[0].Points)
		}
	}
	if len(hb.Series[0].Points) != 29 {
		t.Errorf("%d rate points, want 29 (the first reading has no earlier one)", len(hb.Series[0].Points))
	}
	agent, _ := history.EvaluateWith(ctx, emptySource{}, rec, q("crm-agents", "shipped", 0), rg)
	if !strings.Contains(agent.NotRecorded, "agent's own /metrics") || len(agent.Series) != 0 {
		t.Errorf("agent metric: %+v", agent)
	}
	// One reading: a rate has no value yet, so no series (never an empty one).
	one := history.NewRecorder(reg, time.Minute, func() time.Time { return start })
	one.Record()
	if r, err := history.EvaluateWith(ctx, emptySource{}, one, q("crm-agents", "heartbeats", 0), rg); err != nil || len(r.Series) != 0 || r.NotRecorded != "" {
		t.Errorf("a rate over one reading: %+v (err %v), want no series", r, err)
	}
	none, _ := history.Evaluate(ctx, emptySource{}, q("crm-overview", "open-alerts", 0), rg)
	if !strings.Contains(none.NotRecorded, "server's own /metrics") {
		t.Errorf("without a recorder: %+v", none)
	}
}

// A counter that starts again from 0 (a restart of the metric) counts
// from 0, as Prometheus' rate does; readings older than a day go.
func TestRecorderResetsAndWindow(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmwatch_ingest_observations_total", Help: "h"}, []string{"stream"})
	reg.MustRegister(c)
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	now := start
	rec := history.NewRecorder(reg, time.Minute, func() time.Time { return now })
	for i := range 25 * 60 {
		if i == 25*60-3 {
			c.Reset() // the counter starts again
		}
		c.WithLabelValues("events").Add(120) // 2 a second
		rec.Record()
		now = now.Add(time.Minute)
	}
	expr := `sum by (stream) (rate(crmwatch_ingest_observations_total[5m]))`
	res, err := history.EvaluateWith(context.Background(), emptySource{}, rec, dashboards.Query{Expr: expr, Legend: "{{stream}}",
		Metrics: []string{"crmwatch_ingest_observations_total"}}, history.Range{From: start, To: now})
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("%+v (err %v)", res, err)
	}
	pts := res.Series[0].Points
	if first := time.Unix(int64(pts[0][0]), 0).UTC(); first.Before(now.Add(-history.RecorderWindow - time.Minute)) {
		t.Errorf("readings from %s kept, older than a day before %s", first, now)
	}
	for _, p := range pts {
		if math.Abs(p[1]-2) > 1e-9 {
			t.Fatalf("rate %v at %v, want 2 a second through the reset", p[1], p[0])
		}
	}
}
