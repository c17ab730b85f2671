package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/store"
)

func TestRollupsMergeFenceAndPrune(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		flush := func(vals ...float64) ([]rollup.SeriesRow, []rollup.OrgRow) {
			a := rollup.NewAggregator()
			for i, v := range vals {
				a.AddValue("CRMSQL01", "SqlServer", `\Memory\Available MBytes`, at.Unix()+int64(i), v)
			}
			a.AddOrgHour(rollup.OrgKey{Organization: "contoso", Host: "CRMWEB01", Hour: at.Unix()}, 10, 1, []string{"ann", "bob"})
			return a.Take()
		}
		if err := s.FenceRollup(ctx, 5); err != nil {
			t.Fatal(err)
		}
		series, orgs := flush(1, 2, 3)
		if err := s.CommitRollup(ctx, rollup.Commit{Epoch: 5, Positions: map[string]uint64{"S": 10}, Series: series, Orgs: orgs}); err != nil {
			t.Fatal(err)
		}
		series, orgs = flush(10, 20)
		if err := s.CommitRollup(ctx, rollup.Commit{Epoch: 5, Positions: map[string]uint64{"S": 12}, Series: series, Orgs: orgs}); err != nil {
			t.Fatal(err)
		}
		// A consumer under an older epoch is refused and stores nothing.
		if err := s.CommitRollup(ctx, rollup.Commit{Epoch: 4, Positions: map[string]uint64{"S": 99}, Series: series}); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("commit under an old epoch: %v, want ErrFenced", err)
		}
		if err := s.FenceRollup(ctx, 3); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("fence with an older epoch: %v, want ErrFenced", err)
		}
		pos, epoch, err := s.RollupProgress(ctx)
		if err != nil || pos["S"] != 12 || epoch != 5 {
			t.Fatalf("progress %v epoch %d err %v; want S=12, 5", pos, epoch, err)
		}
		var hours []rollup.SeriesRow
		if err := s.ScanSeries(ctx, rollup.Hour, at, at.Add(time.Hour), func(r *rollup.SeriesRow) error {
			hours = append(hours, *r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(hours) != 1 {
			t.Fatalf("%d hour buckets, want 1", len(hours))
		}
		h := hours[0]
		if h.Count != 5 || h.Min != 1 || h.Max != 20 || h.Sum != 36 || h.Role != "SqlServer" || h.Sketch.Count() != 5 {
			t.Fatalf("merged hour: n=%d min=%g max=%g sum=%g role=%q sketch=%d", h.Count, h.Min, h.Max, h.Sum, h.Role, h.Sketch.Count())
		}
		var org []rollup.OrgRow
		if err := s.ScanOrgs(ctx, at, at.Add(time.Hour), func(r *rollup.OrgRow) error {
			org = append(org, rollup.OrgRow{OrgKey: r.OrgKey, Requests: r.Requests, Errors: r.Errors, Users: append(rollup.UserSet(nil), r.Users...)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(org) != 1 || org[0].Requests != 20 || org[0].Errors != 2 || org[0].Users.Len() != 2 {
			t.Fatalf("organization load %+v, want 20 requests, 2 errors, 2 users", org)
		}
		// Minutes go after their retention; hours and days stay.
		n, err := s.PruneRollups(ctx, at.Add(15*24*time.Hour), rollup.DefaultRetention())
		if err != nil || n != 1 { // the one minute bucket; the organization hour is kept
			t.Fatalf("pruned %d rows (err %v), want 1", n, err)
		}
		count := func(res rollup.Resolution) int {
			k := 0
			_ = s.ScanSeries(ctx, res, at.Add(-time.Hour*48), at.Add(48*time.Hour), func(*rollup.SeriesRow) error { k++; return nil })
			return k
		}
		if count(rollup.Minute) != 0 || count(rollup.Hour) != 1 || count(rollup.Day) != 1 {
			t.Fatalf("after pruning: %d minutes, %d hours, %d days; want 0, 1, 1", count(rollup.Minute), count(rollup.Hour), count(rollup.Day))
		}
	})
}
