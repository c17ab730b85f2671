package report_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"crmwatch/capacity/report"
	"crmwatch/capacity/rollup"
)

// synthSource serves the hourly rollups of a farm read at 1-minute
// resolution (each hour: 60 readings) without a store: the shape the
// rollup consumer leaves behind, produced on the fly. Sketches are shared
// between rows (24 hour-of-day profiles per counter): the report only
// reads them.
type synthSource struct {
	hosts, counters, days, orgs int
	end                         time.Time
	counterNames                []string
	profiles                    [][24]rollup.Agg
	users                       rollup.UserSet
}

func newSynth(hosts, counters, days, orgs int, end time.Time) *synthSource {
	s := &synthSource{hosts: hosts, counters: counters, days: days, orgs: orgs, end: end}
	keys := []string{`\Processor(_Total)\% Processor Time`, `\Memory\% Committed Bytes In Use`, `\Memory\Available MBytes`,
		`\ASP.NET Apps v4.0.30319(__Total__)\Requests In Application Queue`, `\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`,
		`\SQLServer:SQL Statistics\Batch Requests/sec`, `\SQLServer:Buffer Manager\Page life expectancy`, `\LogicalDisk(_Total)\Avg. Disk sec/Read`,
		`\LogicalDisk(_Total)\% Free Space`, `\Process(w3wp)\Private Bytes`}
	for c := range counters {
		name := fmt.Sprintf(`\Object %d(_Total)\Counter %d`, c%7, c)
		if c < len(keys) {
			name = keys[c]
		}
		s.counterNames = append(s.counterNames, name)
		var prof [24]rollup.Agg
		for h := range 24 {
			base := 10 + 40*math.Exp(-math.Pow((float64(h)-13.5)/3.2, 2))
			for m := range 60 {
				prof[h].Add(base * (1 + 0.1*math.Sin(float64(m*7+c))))
			}
		}
		s.profiles = append(s.profiles, prof)
	}
	for u := range 40 {
		s.users.Add(uint32(u * 2654435761))
	}
	return s
}

func (s *synthSource) ScanSeries(_ context.Context, res rollup.Resolution, from, to time.Time, fn func(*rollup.SeriesRow) error) error {
	var r rollup.SeriesRow
	r.Res = res
	for h := range s.hosts {
		r.Host, r.Role = fmt.Sprintf("CRMWEB%02d", h), "AppServer"
		for c := range s.counters {
			r.Counter = s.counterNames[c]
			for t := from.Unix(); t < to.Unix(); t += int64(res) {
				p := &s.profiles[c][(t/3600)%24]
				grow := 1 + 0.4*float64(t-from.Unix())/float64(to.Sub(from).Seconds())
				r.Bucket, r.Count, r.Sketch = t, p.Count, p.Sketch
				r.Min, r.Max, r.Sum = p.Min*grow, p.Max*grow, p.Sum*grow
				if err := fn(&r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *synthSource) ScanOrgs(_ context.Context, from, to time.Time, fn func(*rollup.OrgRow) error) error {
	var r rollup.OrgRow
	for o := range s.orgs {
		r.Organization = fmt.Sprintf("org%02d", o)
		for t := from.Unix(); t < to.Unix(); t += 3600 {
			for h := range 4 {
				r.Host, r.Hour, r.Requests, r.Errors, r.Users = fmt.Sprintf("CRMWEB%02d", (o+h)%s.hosts), t, uint64(100+o), 1, s.users
				if err := fn(&r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// BenchmarkReport90Days builds the report over 90 days of 50 servers × 40
// counters read every minute (4.3 million hourly buckets of 60 readings,
// 500 forecasts) and 50 organizations on 4 servers each.
func BenchmarkReport90Days(b *testing.B) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	src := newSynth(50, 40, 90, 50, end)
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		r, err := report.Build(context.Background(), src, report.Options{Since: 90 * 24 * time.Hour, Now: end})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		if len(r.Servers) != 50 || len(r.Forecasts) != 500 {
			b.Fatalf("%d servers, %d forecasts", len(r.Servers), len(r.Forecasts))
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
}
