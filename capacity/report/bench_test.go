package report_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/capacity/report"
	"crmwatch/capacity/rollup"
	"crmwatch/store/sqlstore"
)

// farm90 is the benchmark's farm: 50 servers × 40 counters read every
// minute for 90 days, and 50 organizations on 4 servers each.
const (
	benchHosts, benchCounters, benchDays, benchOrgs = 50, 40, 90, 50
	// benchScales is how many sizes of server the farm has.
	benchScales = 5
)

// benchCounterNames are the 10 counters the report reads and 30 it does not.
func benchCounterNames() []string {
	names := []string{`\Processor(_Total)\% Processor Time`, `\Memory\% Committed Bytes In Use`, `\Memory\Available MBytes`,
		`\ASP.NET Apps v4.0.30319(__Total__)\Requests In Application Queue`, `\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`,
		`\SQLServer:SQL Statistics\Batch Requests/sec`, `\SQLServer:Buffer Manager\Page life expectancy`, `\LogicalDisk(_Total)\Avg. Disk sec/Read`,
		`\LogicalDisk(_Total)\% Free Space`, `\Process(w3wp)\Private Bytes`}
	for c := len(names); c < benchCounters; c++ {
		names = append(names, fmt.Sprintf(`\Object %d(_Total)\Counter %d`, c%7, c))
	}
	return names
}

// fillFarm90 writes what the rollup consumer leaves behind for that farm:
// each series' 1-hour buckets (60 readings each, with their sketches) and
// 1-day buckets over 90 days, and each organization's hours. Readings
// follow a daily cycle growing 40 % over the span; servers come in five
// sizes. The 1-minute buckets (kept 14 days) are not written: they sit
// in a key range of their own that the report does not read.
func fillFarm90(ctx context.Context, st *sqlstore.Store, end time.Time) error {
	names := benchCounterNames()
	from := end.Add(-benchDays * 24 * time.Hour)
	var users rollup.UserSet
	for u := range 40 {
		users.Add(uint32(u * 2654435761))
	}
	role := func(h int) string {
		switch {
		case h < 40:
			return "AppServer"
		case h < 45:
			return "AsyncService"
		}
		return "SqlServer"
	}
	for d := range benchDays {
		day := from.Add(time.Duration(d) * 24 * time.Hour).Unix()
		grow := 1 + 0.4*float64(d)/benchDays
		// One day of each counter for each of benchScales host sizes.
		var hours [benchScales][benchCounters][24]rollup.Agg
		for s := range benchScales {
			f := 0.8 + 0.1*float64(s)
			for c := range benchCounters {
				for h := range 24 {
					base := 10 + 40*math.Exp(-math.Pow((float64(h)-13.5)/3.2, 2))
					for m := range 60 {
						hours[s][c][h].Add(f * grow * base * (1 + 0.1*math.Sin(float64(m*7+c+d))))
					}
				}
			}
		}
		var c rollup.Commit
		for h := range benchHosts {
			for ci, name := range names {
				var total rollup.Agg
				for hr := range 24 {
					a := &hours[h%benchScales][ci][hr]
					total.Merge(a)
					c.Series = append(c.Series, rollup.SeriesRow{SeriesKey: rollup.SeriesKey{Res: rollup.Hour, Host: benchHost(h), Counter: name,
						Bucket: day + int64(hr)*3600}, Role: role(h), Agg: *a})
				}
				c.Series = append(c.Series, rollup.SeriesRow{SeriesKey: rollup.SeriesKey{Res: rollup.Day, Host: benchHost(h), Counter: name, Bucket: day},
					Role: role(h), Agg: total})
			}
		}
		for o := range benchOrgs {
			for hr := range 24 {
				for k := range 4 {
					c.Orgs = append(c.Orgs, rollup.OrgRow{OrgKey: rollup.OrgKey{Organization: fmt.Sprintf("org%02d", o), Host: benchHost((o + k) % benchHosts),
						Hour: day + int64(hr)*3600}, Requests: uint64(100 + o + hr), Errors: 1, Users: users})
				}
			}
		}
		if err := st.CommitRollup(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func benchHost(h int) string { return fmt.Sprintf("CRMWEB%02d", h) }

// BenchmarkReport90Days builds the report from a SQLite store holding 90
// days of 50 servers × 40 counters read every minute (4.3 million hourly
// and 180,000 daily buckets) and 50 organizations on 4 servers each
// (432,000 organization hours): 500 forecasts. heap-MiB is the largest
// heap in use while a report runs (sampled every 2 ms), cpu-s/op the
// process's CPU time per report. The store is kept for the next run in
// the directory CRMWATCH_BENCH_REPORT_DIR names, or is the one
// CRMWATCH_BENCH_REPORT_STORE names (a PostgreSQL DSN); filling it takes
// minutes, and a run that finds it filled also reports the process's
// peak-RSS-MiB.
func BenchmarkReport90Days(b *testing.B) {
	ctx := context.Background()
	dsn := os.Getenv("CRMWATCH_BENCH_REPORT_STORE") // e.g. a PostgreSQL schema kept between runs
	if dsn == "" {
		dir := os.Getenv("CRMWATCH_BENCH_REPORT_DIR") // keeps the SQLite store for another run
		if dir == "" {
			dir = b.TempDir()
		}
		dsn = filepath.Join(dir, "crmwatch.db")
	}
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	series, err := st.RollupSeries(ctx)
	if err != nil {
		b.Fatal(err)
	}
	filled := len(series) > 0
	if !filled {
		start := time.Now()
		if err := fillFarm90(ctx, st, end); err != nil {
			b.Fatal(err)
		}
		b.Logf("store filled in %s", time.Since(start).Round(time.Second))
	}
	b.ReportAllocs()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	runtime.GC()
	cpu0, _ := rusage()
	for b.Loop() {
		r, err := report.Build(ctx, st, report.Options{Since: benchDays * 24 * time.Hour, Now: end})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Servers) != benchHosts || len(r.Forecasts) != 10*benchHosts || len(r.Organizations) != benchOrgs {
			b.Fatalf("%d servers, %d forecasts, %d organizations", len(r.Servers), len(r.Forecasts), len(r.Organizations))
		}
	}
	close(stop)
	<-done
	b.ReportMetric(float64(peak.Load())/(1<<20), "heap-MiB")
	if cpu, rss := rusage(); cpu > 0 {
		b.ReportMetric((cpu-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		if filled { // the peak is the reports', not the filling's
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		}
	}
}
