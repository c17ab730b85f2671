package history_test

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/capacity/backfill"
	"crmwatch/capacity/rollup"
	"crmwatch/dashboards"
	"crmwatch/dashboards/history"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/store/sqlstore"
)

var (
	farmOnce sync.Once
	farmSt   *sqlstore.Store
	farmEnd  time.Time
	farmErr  error
)

// farm is a store holding 25 hours of a simulated farm's counters sampled
// every minute (capacity/backfill), shared by the tests of this package.
func farm(t testing.TB) (*sqlstore.Store, time.Time) {
	t.Helper()
	farmOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			farmErr = err
			return
		}
		ctx := context.Background()
		farmSt, farmErr = sqlstore.Open(ctx, filepath.Join(dir, "crmwatch.db"), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
		if farmErr != nil {
			return
		}
		farmEnd = time.Now().UTC().Truncate(time.Minute)
		_, farmErr = backfill.Run(ctx, farmSt, backfill.Options{Span: 25 * time.Hour, End: farmEnd, Step: time.Minute, MinutesFor: 25 * time.Hour, Hosts: 2, Orgs: 2, Seed: 7})
	})
	if farmErr != nil {
		t.Fatal(farmErr)
	}
	return farmSt, farmEnd
}

// hosts are the hosts the farm's rollups hold.
func hosts(t testing.TB, st *sqlstore.Store) map[string]bool {
	t.Helper()
	names, err := st.RollupSeries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n.Host] = true
	}
	return out
}

func builtin(t testing.TB) []dashboards.Dashboard {
	t.Helper()
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashboards.Build([]*packs.Pack{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func find(t testing.TB, id string) dashboards.Dashboard {
	t.Helper()
	for _, d := range builtin(t) {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no dashboard %s", id)
	return dashboards.Dashboard{}
}

func panel(t testing.TB, dashboard, key string) dashboards.Panel {
	t.Helper()
	for _, d := range builtin(t) {
		for _, p := range d.Panels {
			if d.ID == dashboard && p.Key == key {
				return p
			}
		}
	}
	t.Fatalf("no panel %s/%s", dashboard, key)
	return dashboards.Panel{}
}

// Every query of the built-in dashboards is either drawn from the rollups,
// with at least a day of 1-minute points for the counter panels, or says
// why it is not recorded; none is both, none is silent.
func TestBuiltinPanelsOverADay(t *testing.T) {
	st, end := farm(t)
	ctx := context.Background()
	rg := history.Range{From: end.Add(-24 * time.Hour), To: end}
	var recorded, notRecorded int
	for _, d := range builtin(t) {
		for _, p := range d.Panels {
			for _, q := range p.Queries {
				res, err := history.Evaluate(ctx, st, q, rg)
				if err != nil {
					t.Fatalf("%s/%s %s: %v", d.ID, p.Key, q.Expr, err)
				}
				onlyCounters := len(q.Metrics) == 1 && q.Metrics[0] == packs.CounterMetric
				switch {
				case res.NotRecorded != "":
					notRecorded++
					if onlyCounters || len(res.Series) > 0 {
						t.Errorf("%s/%s %s: not recorded (%s) with %d series", d.ID, p.Key, q.Expr, res.NotRecorded, len(res.Series))
					}
					if !strings.Contains(res.NotRecorded, "/metrics") || !strings.Contains(res.NotRecorded, q.Metrics[0]) {
						t.Errorf("%s/%s: reason %q does not say where the metric lives", d.ID, p.Key, res.NotRecorded)
					}
				case !onlyCounters:
					t.Errorf("%s/%s %s: a metric outside the rollups was answered", d.ID, p.Key, q.Expr)
				default:
					recorded++
					if strings.Contains(q.Expr, "_over_time(") {
						continue // hourly: checked below
					}
					if res.Step != "1m" {
						t.Errorf("%s/%s: step %s over a day, want 1m", d.ID, p.Key, res.Step)
					}
					for _, s := range res.Series {
						if len(s.Points) < 24*60-1 || s.Points[0][0] != float64(rg.From.Unix()) {
							t.Errorf("%s/%s %s: %d points from %v, want a point every minute of the day", d.ID, p.Key, s.Name, len(s.Points), s.Points[0][0])
						}
					}
				}
			}
		}
	}
	t.Logf("%d queries drawn from the rollups, %d not recorded", recorded, notRecorded)
	if recorded < 30 || notRecorded < 10 {
		t.Errorf("%d recorded and %d not recorded queries: the built-in pack has more of each", recorded, notRecorded)
	}
}

// A counter panel draws one line per host with the legend's labels, and
// the host variable narrows it; the values are the minute buckets' means.
func TestCounterPanelAndHostVariable(t *testing.T) {
	st, end := farm(t)
	ctx := context.Background()
	q := panel(t, "crm-server", "processor-time").Queries[0]
	all, err := history.Evaluate(ctx, st, q, history.Range{From: end.Add(-time.Hour), To: end})
	if err != nil || len(all.Series) != len(hosts(t, st)) || len(all.Series) < 2 {
		t.Fatalf("%d series (err %v), want one per host of the farm", len(all.Series), err)
	}
	host := all.Series[1].Name
	one, err := history.Evaluate(ctx, st, q, history.Range{From: end.Add(-time.Hour), To: end, Hosts: []string{host}})
	if err != nil || len(one.Series) != 1 || one.Series[0].Name != host || one.Series[0].Labels["host"] != host {
		t.Fatalf("host=%s: %+v (err %v)", host, one.Series, err)
	}
	var want []float64
	_ = st.ScanSeriesOf(ctx, rollup.Minute, host, `\Processor(_Total)\% Processor Time`, end.Add(-time.Hour), end, func(r *rollup.SeriesRow) error {
		want = append(want, r.Avg())
		return nil
	})
	got := one.Series[0].Points
	if len(got) != 60 || len(want) != 60 || got[59][1] != want[59] || got[0][1] != want[0] {
		t.Fatalf("points %v, want the minute means %v", got, want)
	}
}

// The capacity panels: 100 - avg_over_time(…[1h]) is 100 minus the hourly
// mean; min by (host) is the lowest instance of each host at each minute.
func TestCapacityPanels(t *testing.T) {
	st, end := farm(t)
	ctx := context.Background()
	rg := history.Range{From: end.Add(-24 * time.Hour), To: end}
	cpu, err := history.Evaluate(ctx, st, panel(t, "crm-capacity", "cpu-headroom").Queries[0], rg)
	if err != nil || cpu.NotRecorded != "" || cpu.Step != "1h" || len(cpu.Series) != len(hosts(t, st)) {
		t.Fatalf("cpu headroom: step %s, %d series, %q (err %v)", cpu.Step, len(cpu.Series), cpu.NotRecorded, err)
	}
	s := cpu.Series[0]
	var hourly []float64
	_ = st.ScanSeriesOf(ctx, rollup.Hour, s.Name, `\Processor(_Total)\% Processor Time`, rg.From.Truncate(time.Hour), rg.To, func(r *rollup.SeriesRow) error {
		hourly = append(hourly, 100-r.Avg())
		return nil
	})
	if len(s.Points) != len(hourly) || len(hourly) < 24 || math.Abs(s.Points[3][1]-hourly[3]) > 1e-9 {
		t.Fatalf("headroom of %s: %v, want %v", s.Name, s.Points, hourly)
	}
	disk, err := history.Evaluate(ctx, st, panel(t, "crm-capacity", "disk-headroom").Queries[0], rg)
	if err != nil || disk.NotRecorded != "" || len(disk.Series) == 0 {
		t.Fatalf("disk headroom: %+v (err %v)", disk, err)
	}
	for _, s := range disk.Series {
		if len(s.Labels) != 1 || s.Labels["host"] == "" || s.Name != s.Labels["host"] {
			t.Errorf("min by (host) gave labels %v named %q", s.Labels, s.Name)
		}
	}
}

// Shapes the rollups cannot answer say so, naming what is missing.
func TestNotRecordedReasons(t *testing.T) {
	st, end := farm(t)
	for expr, want := range map[string]string{
		`rate(crmwatch_perfcounter_value[5m])`:                    "rate is not evaluated on the rollups",
		`avg_over_time(crmwatch_perfcounter_value[5m])`:           "1m, 1h and 1d buckets only",
		`crmwatch_perfcounter_value / crmwatch_perfcounter_value`: "between two series",
		`sum without (host) (crmwatch_perfcounter_value)`:         "without",
		`crmwatch_perfcounter_value{host=~"("}`:                   "regular expression",
		`crmwatch_alerts_open`:                                    "crmwatch_alerts_open is a metric of the server's own /metrics",
		`sum(rate(crmwatch_snmptrap_traps_total[5m]))`:            "of the agent's own /metrics",
	} {
		names, _ := dashboards.MetricNames(expr)
		res, err := history.Evaluate(context.Background(), st, dashboards.Query{Expr: expr, Metrics: names}, history.Range{From: end.Add(-time.Hour), To: end})
		if err != nil || !strings.Contains(res.NotRecorded, want) || len(res.Series) != 0 {
			t.Errorf("%s: %q, %d series (err %v); want a reason with %q", expr, res.NotRecorded, len(res.Series), err, want)
		}
	}
}

// FuzzEvaluate: whatever a pack's query says, the history answers or says
// why not; it never fails or panics.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{`100 - avg_over_time(crmwatch_perfcounter_value{object="processor"}[1h])`,
		`min by (host) (crmwatch_perfcounter_value{counter_instance!="_total"})`, `sum(crmwatch_perfcounter_value) by (host) * 2`,
		`crmwatch_perfcounter_value{host=~"$host",object=~'.*:locks'}`, `(1 + 2) * crmwatch_perfcounter_value`, `rate(x[5m])`, `{`, `"`} {
		f.Add(s)
	}
	f.Add(`sum by (severity) (rate(crmwatch_rules_heartbeats_total[5m])) * 60`)
	f.Add(`sort_desc(increase(crmwatch_alerts_open[1h]))`)
	src := emptySource{}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmwatch_alerts_open", Help: "h"}, []string{"severity", "state"})
	reg.MustRegister(g)
	g.WithLabelValues("critical", "new").Set(3)
	rec := history.NewRecorder(reg, time.Minute, func() time.Time { return time.Unix(1800, 0) })
	rec.Record()
	f.Fuzz(func(t *testing.T, expr string) {
		rg := history.Range{From: time.Unix(0, 0), To: time.Unix(3600, 0), Hosts: []string{"a.b"}}
		q := dashboards.Query{Expr: expr, Metrics: []string{packs.CounterMetric}}
		if _, err := history.Evaluate(context.Background(), src, q, rg); err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if names, err := dashboards.MetricNames(expr); err == nil {
			q.Metrics = names
			if _, err := history.EvaluateWith(context.Background(), src, rec, q, rg); err != nil {
				t.Fatalf("%q with the recorder: %v", expr, err)
			}
		}
	})
}

type emptySource struct{}

func (emptySource) RollupSeries(context.Context) ([]rollup.SeriesName, error) {
	return []rollup.SeriesName{{Host: "CRMWEB01", Counter: `\Processor(_Total)\% Processor Time`, Role: "AppServer"}}, nil
}

func (emptySource) ScanSeriesOf(_ context.Context, res rollup.Resolution, host, counter string, from, to time.Time, fn func(*rollup.SeriesRow) error) error {
	r := rollup.SeriesRow{SeriesKey: rollup.SeriesKey{Res: res, Host: host, Counter: counter, Bucket: res.Start(from)}}
	r.Agg.Add(42)
	return fn(&r)
}
