package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/capacity/backfill"
	"crmwatch/capacity/report"
	"crmwatch/store/sqlstore"
)

var (
	histOnce  sync.Once
	histStore *sqlstore.Store
	histRes   backfill.Result
	histErr   error
)

// history back-fills 21 days of a small simulated farm once for the tests
// (hourly readings: enough for three weeks of daily values).
func history(t *testing.T) (*sqlstore.Store, backfill.Result) {
	t.Helper()
	histOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			histErr = err
			return
		}
		histStore, histErr = sqlstore.Open(context.Background(), filepath.Join(dir, "crmwatch.db"), sqlstore.Options{})
		if histErr != nil {
			return
		}
		histRes, histErr = backfill.Run(context.Background(), histStore, backfill.Options{Span: 21 * 24 * time.Hour, End: testEnd,
			Step: time.Hour, MinutesFor: time.Hour, Hosts: 3, Orgs: 6, Growth: 0.02})
	})
	if histErr != nil {
		t.Fatal(histErr)
	}
	return histStore, histRes
}

var testEnd = time.Date(2026, 3, 27, 18, 0, 0, 0, time.UTC)

func build(t *testing.T) (*report.Report, backfill.Result) {
	t.Helper()
	st, res := history(t)
	r, err := report.Build(context.Background(), st, report.Options{Since: 21 * 24 * time.Hour, Now: testEnd})
	if err != nil {
		t.Fatal(err)
	}
	return r, res
}

func TestReportOnSimulatorHistory(t *testing.T) {
	r, res := build(t)
	if r.Version != report.Version || len(r.Farm) == 0 || len(r.Servers) != res.Hosts || len(r.Roles) < 3 {
		t.Fatalf("report: version %d, %d farm stats, %d servers (want %d), %d roles", r.Version, len(r.Farm), len(r.Servers), res.Hosts, len(r.Roles))
	}
	// The farm grows 2 % a day: CPU trends up, and some server's CPU is
	// forecast to cross 80 % within the horizon.
	var cpu *report.Stat
	for i := range r.Farm {
		if r.Farm[i].Indicator == "cpu" {
			cpu = &r.Farm[i]
		}
	}
	if cpu == nil || cpu.TrendPct < 20 || cpu.Peak < cpu.P95 || cpu.P95 < cpu.Avg {
		t.Fatalf("farm CPU %+v: want avg ≤ p95 ≤ peak and a trend of +20 %%/30 days or more", cpu)
	}
	first := r.Forecasts[0]
	if first.DaysToThreshold == nil || first.Threshold == nil || first.Method == "" || len(first.BacktestMAE) == 0 {
		t.Fatalf("first forecast %+v: want the soonest crossing with its method and back-test", first)
	}
	// The incident (slow queries on CRMSQL01) is in the peaks: the SQL
	// server's disk read time peak is far above its p95.
	for _, g := range r.Servers {
		for _, s := range g.Stats {
			if g.Name == "CRMSQL01" && s.Indicator == "disk_read" && s.Peak < 1.3*s.P95 {
				t.Errorf("CRMSQL01 disk read: peak %.4f, p95 %.4f: the incident should stand out", s.Peak, s.P95)
			}
		}
	}
	// Organizations: ranked by load; the fast-growing one ranks first by growth.
	if len(r.Organizations) != res.Orgs {
		t.Fatalf("%d organizations, want %d", len(r.Organizations), res.Orgs)
	}
	for i, o := range r.Organizations {
		if o.RankLoad != i+1 || (i > 0 && o.Requests > r.Organizations[i-1].Requests) {
			t.Fatalf("organizations not ranked by load: %+v", r.Organizations)
		}
		if strings.EqualFold(o.Name, res.FastOrg) && (o.RankGrowth != 1 || o.Growth < 1.8) {
			t.Errorf("fast organization %s: growth ×%.2f, growth rank %d; want ×1.8 or more and rank 1", o.Name, o.Growth, o.RankGrowth)
		}
		if len(o.Servers) == 0 || o.PeakUsers == 0 {
			t.Errorf("organization %s: servers %v, peak users %d", o.Name, o.Servers, o.PeakUsers)
		}
	}
	// Tier: 6 organizations, users from the busiest hour at 60 %.
	tier := r.Tier
	if tier.Organizations != res.Orgs || tier.ConcurrentUsers == 0 || tier.Users != int(math.Ceil(float64(tier.ConcurrentUsers)/0.6)) {
		t.Fatalf("tier figures %+v", tier)
	}
	want := report.Beyond
	for _, spec := range report.Tiers {
		if tier.Users <= spec.Users && tier.Organizations <= spec.Organizations {
			want = spec.Name
			break
		}
	}
	if tier.Current != want || tier.ScaleFirst == "" || len(tier.Advice) < 5 {
		t.Fatalf("tier %s (want %s), scale first %q, %d pieces of advice", tier.Current, want, tier.ScaleFirst, len(tier.Advice))
	}
}

func TestTierChoice(t *testing.T) {
	for _, tc := range []struct {
		users, orgs int
		want        string
	}{{150, 10, "Entry"}, {150, 40, "Middle"}, {700, 150, "Middle"}, {2000, 30, "Upper"}, {2000, 100, report.Beyond}} {
		got := report.Beyond
		for _, tier := range report.Tiers {
			if tc.users <= tier.Users && tc.orgs <= tier.Organizations {
				got = tier.Name
				break
			}
		}
		if got != tc.want {
			t.Errorf("%d users, %d organizations: %s, want %s", tc.users, tc.orgs, got, tc.want)
		}
	}
}

func TestReportFormats(t *testing.T) {
	r, _ := build(t)
	var js bytes.Buffer
	if err := report.Write(&js, r, "json"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   int `json:"version"`
		Tier      struct{ Current string }
		Forecasts []struct {
			DaysToThreshold *float64 `json:"days_to_threshold"`
			Method          string   `json:"method"`
		} `json:"forecasts"`
		Organizations []struct{ Name string } `json:"organizations"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if doc.Version != 1 || doc.Tier.Current == "" || len(doc.Forecasts) == 0 || doc.Forecasts[0].DaysToThreshold == nil || len(doc.Organizations) == 0 {
		t.Fatalf("JSON lacks version, tier, forecasts[].days_to_threshold or organizations: %.300s", js.String())
	}
	var c bytes.Buffer
	if err := report.Write(&c, r, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	sections := map[string]int{}
	for _, row := range rows[1:] {
		sections[row[0]]++
	}
	for _, s := range []string{"farm", "role", "server", "forecast", "organization", "tier"} {
		if sections[s] == 0 {
			t.Errorf("CSV has no %s rows", s)
		}
	}
	var h bytes.Buffer
	if err := report.Write(&h, r, "html"); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	if n := strings.Count(page, "<svg"); n < 3 {
		t.Errorf("HTML has %d inline charts", n)
	}
	for _, external := range []string{"<script", "src=", "href=", "url(", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("HTML refers to something outside itself (%s)", external)
		}
	}
	if err := report.Write(&h, r, "pdf"); err == nil || !strings.Contains(err.Error(), "html, csv or json") {
		t.Errorf("an unknown format: %v", err)
	}
}
