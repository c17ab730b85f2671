package backfill_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/capacity/backfill"
	"crmwatch/capacity/rollup"
	"crmwatch/store/sqlstore"
)

func TestBackfillWritesRealisticHistory(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	end := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC) // a Friday: four weekdays back
	var progress []int
	res, err := backfill.Run(ctx, st, backfill.Options{Span: 4 * 24 * time.Hour, End: end, Step: 15 * time.Minute, MinutesFor: 2 * time.Hour, Growth: 0.05,
		Progress: func(done, total int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != 4 || progress[3] != 4 {
		t.Fatalf("progress calls %v, want 1…4", progress)
	}
	if res.Series == 0 || res.Samples != int64(res.Series)*4*24*4 {
		t.Fatalf("result %+v: want every series sampled every 15 minutes for 4 days", res)
	}
	hours := map[string]int{}
	var cpuFirst, cpuLast, diskIncident, diskNormal float64
	err = st.ScanSeries(ctx, rollup.Hour, res.From, res.To, func(r *rollup.SeriesRow) error {
		hours[r.Host+r.Counter]++
		if strings.Contains(r.Role, "AppServer") && r.Counter == `\Processor(_Total)\% Processor Time` && r.Time().Hour() == 13 {
			if cpuFirst == 0 {
				cpuFirst = r.Avg()
			}
			cpuLast = r.Avg()
		}
		if r.Host == "CRMSQL01" && r.Counter == `\LogicalDisk(C:)\Avg. Disk sec/Read` && r.Time().Hour() == 11 {
			if r.Time().Day() == res.IncidentStart.Day() {
				diskIncident = r.Max
			} else {
				diskNormal = max(diskNormal, r.Max)
			}
		}
		if r.Role == "" {
			t.Fatalf("series %s %s has no role", r.Host, r.Counter)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != res.Series {
		t.Fatalf("%d series with hours, want %d", len(hours), res.Series)
	}
	for k, n := range hours {
		if n != 96 {
			t.Fatalf("%s: %d hour buckets, want 96", k, n)
		}
	}
	if !(cpuLast > cpuFirst*1.08) {
		t.Errorf("front-end CPU at 13:00 went from %.1f (Tuesday) to %.1f (Friday): want the growth to show", cpuFirst, cpuLast)
	}
	if !(diskIncident > 1.5*diskNormal) {
		t.Errorf("SQL disk read time at the incident %.4f, otherwise at most %.4f: want the incident to show", diskIncident, diskNormal)
	}
	minutes := 0
	_ = st.ScanSeries(ctx, rollup.Minute, res.From, res.To, func(r *rollup.SeriesRow) error {
		if r.Time().Before(end.Add(-2 * time.Hour)) {
			t.Fatalf("minute bucket at %s, before the last two hours", r.Time())
		}
		minutes++
		return nil
	})
	if minutes != res.Series*2*4 {
		t.Fatalf("%d minute buckets, want %d (the last two hours)", minutes, res.Series*2*4)
	}
	first, last := map[string]uint64{}, map[string]uint64{}
	err = st.ScanOrgs(ctx, res.From, res.To, func(r *rollup.OrgRow) error {
		switch r.Time().Sub(res.From) / (24 * time.Hour) {
		case 0: // Monday noon to Tuesday noon
			first[r.Organization] += r.Requests
		case 2: // Wednesday noon to Thursday noon
			last[r.Organization] += r.Requests
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fast := strings.ToLower(res.FastOrg)
	if g := float64(last[fast]) / float64(first[fast]); g < 1.8 {
		t.Errorf("fast organization %s grew %.2f× in two days, want ≥ 1.8×", fast, g)
	}
	for org := range first {
		if org != fast && float64(last[org]) > 1.3*float64(first[org]) {
			t.Errorf("organization %s grew %d → %d: only %s should grow fast", org, first[org], last[org], fast)
		}
	}
}
