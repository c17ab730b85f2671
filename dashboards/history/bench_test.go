package history_test

import (
	"context"
	"testing"
	"time"

	"crmwatch/dashboards/history"
)

// BenchmarkDashboardDay: what one load or refresh of the per-server
// dashboard costs the server: its 8 panels over the last 24 hours at
// 1-minute buckets for every host of the back-filled farm (3 hosts, 1,440
// points a series; 33 series), read from SQLite and evaluated.
func BenchmarkDashboardDay(b *testing.B) {
	st, end := farm(b)
	var d = find(b, "crm-server")
	ctx := context.Background()
	rg := history.Range{From: end.Add(-24 * time.Hour), To: end}
	b.ResetTimer()
	points := 0
	for range b.N {
		points = 0
		for _, p := range d.Panels {
			for _, q := range p.Queries {
				res, err := history.Evaluate(ctx, st, q, rg)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range res.Series {
					points += len(s.Points)
				}
			}
		}
	}
	b.ReportMetric(float64(points), "points/op")
}
