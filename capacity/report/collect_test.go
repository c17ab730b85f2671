package report

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"crmwatch/capacity/backfill"
	"crmwatch/capacity/rollup"
	"crmwatch/store/sqlstore"
	"crmwatch/store/sqlstore/pgtest"
)

// collectHours is the report's first reading of the rollups, kept as the
// reference: every 1-hour bucket of the window, each bucket's maximum
// dating the peak (the first in host, counter and time order wins a tie).
func collectHours(ctx context.Context, src Source, from, to time.Time, days int) (map[key]*acc, error) {
	accs := map[key]*acc{}
	err := src.(*sqlstore.Store).ScanSeries(ctx, rollup.Hour, from, to, func(row *rollup.SeriesRow) error {
		i, ok := indicatorOf(row.Counter)
		if !ok {
			return nil
		}
		k := key{row.Host, i}
		a := accs[k]
		if a == nil {
			a = &acc{host: row.Host, days: make([]rollup.Agg, days)}
			accs[k] = a
		}
		a.role = row.Role
		if row.Count > 0 && (a.total.Count == 0 || row.Max > a.total.Max) {
			a.peakAt = row.Bucket
		}
		a.total.Merge(&row.Agg)
		if d := int((row.Bucket - from.Unix()) / 86400); d >= 0 && d < days {
			a.days[d].Merge(&row.Agg)
		}
		return nil
	})
	return accs, err
}

// sameAgg compares two merges of the same readings: counts, extremes and
// the sketch (so the p95) exactly, the sum within 1e-9 of itself (the
// additions ran in another order).
func sameAgg(a, b *rollup.Agg) bool {
	if a.Count != b.Count || a.Min != b.Min || a.Max != b.Max || math.Abs(a.Sum-b.Sum) > 1e-9*math.Abs(b.Sum) {
		return false
	}
	for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
		if x, y := a.Sketch.Quantile(q), b.Sketch.Quantile(q); x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}

// TestDailyRollupsGiveTheHourlyFigures checks that reading whole days from
// the 1-day rollups (and the day in progress and the peak days from the
// 1-hour ones) gives the figures of merging every hour of the window: the
// same counts, extremes, p95s and peak hours, sums within 1e-9 — and so
// the same report, averages within 1e-9 — on SQLite and PostgreSQL; and
// that organization load sums as it first did.
func TestDailyRollupsGiveTheHourlyFigures(t *testing.T) {
	engines := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "crmwatch.db") },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, engines[name](t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Ends at 18:00, so the last day is read from its hours.
			end := time.Date(2026, 3, 27, 18, 0, 0, 0, time.UTC)
			if _, err := backfill.Run(ctx, st, backfill.Options{Span: 6 * 24 * time.Hour, End: end, Step: 20 * time.Minute, Hosts: 3, Orgs: 4,
				Growth: 0.05}); err != nil {
				t.Fatal(err)
			}
			// A server gone before the window is in neither reading (the
			// counts below).
			old := rollup.NewAggregator()
			old.AddValue("CRMOLD01", "AppServer", `\Processor(_Total)\% Processor Time`, end.Add(-30*24*time.Hour).Unix(), 50)
			series, _ := old.Take()
			if err := st.CommitRollup(ctx, rollup.Commit{Series: series}); err != nil {
				t.Fatal(err)
			}
			o := Options{Since: 5 * 24 * time.Hour, Now: end.Add(25 * time.Minute)}
			to := o.Now.Truncate(time.Hour)
			from := to.Add(-o.Since).Truncate(24 * time.Hour)
			days := int(math.Ceil(to.Sub(from).Hours() / 24))
			got, err := collect(ctx, st, from, to, days)
			if err != nil {
				t.Fatal(err)
			}
			want, err := collectHours(ctx, st, from, to, days)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(want) < 20 {
				t.Fatalf("%d server indicators from the daily rollups, %d from the hourly", len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				if g == nil {
					t.Fatalf("%s %s missing from the daily reading", k.host, indicators[k.ind].Key)
				}
				if !sameAgg(&g.total, &w.total) || g.peakAt != w.peakAt || g.role != w.role {
					t.Errorf("%s %s: daily reading n=%d min=%g max=%g sum=%g p95=%g peak at %d; hourly n=%d min=%g max=%g sum=%g p95=%g peak at %d",
						k.host, indicators[k.ind].Key, g.total.Count, g.total.Min, g.total.Max, g.total.Sum, g.total.P95(), g.peakAt,
						w.total.Count, w.total.Min, w.total.Max, w.total.Sum, w.total.P95(), w.peakAt)
				}
				for d := range w.days {
					if !sameAgg(&g.days[d], &w.days[d]) {
						t.Errorf("%s %s day %d differs", k.host, indicators[k.ind].Key, d)
					}
				}
			}
			// The whole report: the same but for the averages' last digits.
			a, err := build(ctx, st, o, collect)
			if err != nil {
				t.Fatal(err)
			}
			b, err := build(ctx, st, o, collectHours)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*Report{a, b} {
				for _, stats := range [][]Stat{r.Farm} {
					roundAvgs(stats)
				}
				for _, gs := range [][]Group{r.Roles, r.Servers} {
					for i := range gs {
						roundAvgs(gs[i].Stats)
					}
				}
			}
			orgs, perHost, users, err := organizations(ctx, st, from, to, days)
			if err != nil {
				t.Fatal(err)
			}
			wantOrgs, wantPerHost, wantUsers, err := organizationsByMaps(ctx, st, from, to, days)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(orgs, wantOrgs) || !reflect.DeepEqual(perHost, wantPerHost) || !reflect.DeepEqual(users, wantUsers) {
				t.Errorf("organizations differ:\n%+v %v %v\nreference\n%+v %v %v", orgs, perHost, users, wantOrgs, wantPerHost, wantUsers)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("reports differ:\ndaily  %.2000s\nhourly %.2000s", ja, jb)
			}
		})
	}
}

// organizationsByMaps is the report's first summing of organization load,
// kept as the reference (maps per hour, the union of users by inserting
// each hash).
func organizationsByMaps(ctx context.Context, src Source, from, to time.Time, days int) ([]Organization, map[string]int, []float64, error) {
	type acc struct {
		o      Organization
		daily  []float64
		hours  map[int64]*rollup.UserSet
		rate   map[int64]uint64
		server map[string]bool
	}
	accs := map[string]*acc{}
	perHost := map[string]map[string]bool{}
	err := src.ScanOrgs(ctx, from, to, func(row *rollup.OrgRow) error {
		a := accs[row.Organization]
		if a == nil {
			a = &acc{o: Organization{Name: row.Organization}, daily: make([]float64, days), hours: map[int64]*rollup.UserSet{},
				rate: map[int64]uint64{}, server: map[string]bool{}}
			accs[row.Organization] = a
		}
		a.o.Requests += row.Requests
		a.o.Errors += row.Errors
		if d := int((row.Hour - from.Unix()) / 86400); d >= 0 && d < days {
			a.daily[d] += float64(row.Requests)
		}
		u := a.hours[row.Hour]
		if u == nil {
			u = &rollup.UserSet{}
			a.hours[row.Hour] = u
		}
		u.Merge(row.Users)
		a.rate[row.Hour] += row.Requests
		a.server[row.Host] = true
		if perHost[row.Host] == nil {
			perHost[row.Host] = map[string]bool{}
		}
		perHost[row.Host][row.Organization] = true
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var total uint64
	hourUsers := map[int64]int{}
	out := make([]Organization, 0, len(accs))
	for _, a := range accs {
		for h, u := range a.hours {
			a.o.PeakUsers = max(a.o.PeakUsers, u.Len())
			hourUsers[h] += u.Len()
		}
		for _, n := range a.rate {
			a.o.PeakRate = max(a.o.PeakRate, float64(n))
		}
		a.o.Servers = sortedKeys(a.server)
		for d, v := range a.daily {
			a.o.DailyLoad = append(a.o.DailyLoad, DayValue{Day: from.Add(time.Duration(d) * 24 * time.Hour), Value: v})
		}
		w := min(7, len(a.daily)/2)
		var first, last float64
		for i := range w {
			first += a.daily[i]
			last += a.daily[len(a.daily)-1-i]
		}
		if first > 0 {
			a.o.Growth = last / first
		}
		if a.o.Requests > 0 {
			a.o.ErrorsPct = 100 * float64(a.o.Errors) / float64(a.o.Requests)
		}
		total += a.o.Requests
		out = append(out, a.o)
	}
	for i := range out {
		if total > 0 {
			out[i].LoadSharePc = 100 * float64(out[i].Requests) / float64(total)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Growth > out[b].Growth || out[a].Growth == out[b].Growth && out[a].Name < out[b].Name
	})
	for i := range out {
		out[i].RankGrowth = i + 1
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Requests > out[b].Requests || out[a].Requests == out[b].Requests && out[a].Name < out[b].Name
	})
	for i := range out {
		out[i].RankLoad = i + 1
	}
	counts := map[string]int{}
	for h, set := range perHost {
		counts[h] = len(set)
	}
	dailyUsers := make([]float64, days)
	for h, n := range hourUsers {
		if d := int((h - from.Unix()) / 86400); d >= 0 && d < days {
			dailyUsers[d] = max(dailyUsers[d], float64(n))
		}
	}
	return out, counts, dailyUsers, nil
}

func roundAvgs(stats []Stat) {
	for i := range stats {
		if v := stats[i].Avg; v != 0 && !math.IsNaN(v) {
			p := math.Pow(10, 9-math.Ceil(math.Log10(math.Abs(v))))
			stats[i].Avg = math.Round(v*p) / p
		}
	}
}
