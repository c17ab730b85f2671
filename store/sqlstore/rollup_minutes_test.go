package sqlstore

import (
	"context"
	"testing"
	"time"

	"crmwatch/capacity/rollup"
)

// The default retention keeps at least a day of 1-minute buckets (the
// console's dashboards read them): 26 hours of minutes pruned at their end
// keep every minute of the last 24 hours; one series reads alone, through
// its key.
func TestDefaultRetentionKeepsADayOfMinutes(t *testing.T) {
	if d := rollup.DefaultRetention()[rollup.Minute]; d < rollup.MinMinuteRetention || rollup.MinMinuteRetention < 24*time.Hour {
		t.Fatalf("default 1-minute retention %s, want at least 24h", d)
	}
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		end := time.Now().UTC().Truncate(time.Minute)
		start := end.Add(-26 * time.Hour)
		a := rollup.NewAggregator()
		for at := start; at.Before(end); at = at.Add(time.Minute) {
			a.AddValue("CRMWEB01", "AppServer", `\Memory\Available MBytes`, at.Unix(), 1000)
			a.AddValue("CRMWEB02", "AppServer", `\Memory\Available MBytes`, at.Unix(), 2000)
		}
		series, _ := a.Take()
		if err := s.CommitRollup(ctx, rollup.Commit{Series: series}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PruneRollups(ctx, end, rollup.DefaultRetention()); err != nil {
			t.Fatal(err)
		}
		names, err := s.RollupSeries(ctx)
		if err != nil || len(names) != 2 || names[0] != (rollup.SeriesName{Host: "CRMWEB01", Counter: `\Memory\Available MBytes`, Role: "AppServer"}) {
			t.Fatalf("series %+v (err %v)", names, err)
		}
		var n int
		var first int64
		err = s.ScanSeriesOf(ctx, rollup.Minute, "CRMWEB02", `\Memory\Available MBytes`, end.Add(-24*time.Hour), end, func(r *rollup.SeriesRow) error {
			if n == 0 {
				first = r.Bucket
			}
			if r.Host != "CRMWEB02" || r.Avg() != 2000 || r.Role != "AppServer" {
				t.Fatalf("row %+v", r)
			}
			n++
			return nil
		})
		if err != nil || n != 24*60 || first != end.Add(-24*time.Hour).Unix() {
			t.Fatalf("%d minute buckets of the last 24h from %d (err %v), want 1440 from %d", n, first, err, end.Add(-24*time.Hour).Unix())
		}
	})
}
