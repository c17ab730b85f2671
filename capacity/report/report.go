// Package report builds the capacity-planning report from the rollups: per
// farm, role and server the key indicators (CPU, memory, request rate,
// async backlog, SQL indicators) with peak, p95 and trend; a forecast per
// server and indicator with the date it crosses its threshold; the
// organizations ranked by load and growth; and tier advice from the
// planning guide's reference architecture. It renders JSON, CSV and one
// self-contained HTML file.
package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"crmwatch/capacity/forecast"
	"crmwatch/capacity/rollup"
)

// Version is the report format's version (the JSON's "version").
const Version = 1

// Source is what the report reads (store/sqlstore has it).
type Source interface {
	// RollupSeries lists the stored series.
	RollupSeries(ctx context.Context) ([]rollup.SeriesName, error)
	// ScanRanges calls fn for the buckets of each range in turn, by time
	// within a range.
	ScanRanges(ctx context.Context, res rollup.Resolution, ranges []rollup.Range, fn func(*rollup.SeriesRow) error) error
	ScanOrgs(ctx context.Context, from, to time.Time, fn func(*rollup.OrgRow) error) error
}

// Options of a report.
type Options struct {
	// Since is how much history the report covers (default 30 days).
	Since time.Duration
	// Now ends the window (default time.Now).
	Now time.Time
	// Horizon is how many days forecasts look ahead (default 180).
	Horizon int
}

// DefaultSince is the default window.
const DefaultSince = 30 * 24 * time.Hour

// Report is the whole report; JSON, CSV and HTML carry the same content.
type Report struct {
	Version       int            `json:"version"`
	Generated     time.Time      `json:"generated"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Farm          []Stat         `json:"farm"`
	Roles         []Group        `json:"roles"`
	Servers       []Group        `json:"servers"`
	Forecasts     []Forecast     `json:"forecasts"`
	Organizations []Organization `json:"organizations"`
	Tier          Tier           `json:"tier"`
}

// Stat is one indicator over the window.
type Stat struct {
	Indicator string    `json:"indicator"`
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	Avg       float64   `json:"avg"`
	P95       float64   `json:"p95"`
	Peak      float64   `json:"peak"`
	PeakAt    time.Time `json:"peak_at"`
	// TrendPct is the change of the daily p95 over 30 days, in percent of
	// its mean (least squares).
	TrendPct float64 `json:"trend_pct_per_30d"`
	Samples  uint64  `json:"samples"`
}

// Group is a role or a server and its indicators.
type Group struct {
	Name  string   `json:"name"`
	Role  string   `json:"role,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
	// Organizations is how many organizations had load on the server.
	Organizations int    `json:"organizations,omitempty"`
	Stats         []Stat `json:"stats"`
}

// Forecast is one server's indicator projected forward.
type Forecast struct {
	Host      string   `json:"host"`
	Role      string   `json:"role"`
	Indicator string   `json:"indicator"`
	Name      string   `json:"name"`
	Unit      string   `json:"unit"`
	Threshold *float64 `json:"threshold,omitempty"`
	Below     bool     `json:"below,omitempty"`
	Source    string   `json:"threshold_source,omitempty"`
	// History is the daily p95 the forecast was fitted on.
	History []DayValue `json:"history"`
	forecast.Result
}

// DayValue is one day's value.
type DayValue struct {
	Day   time.Time `json:"day"`
	Value float64   `json:"value"`
}

// Organization is one tenant's load over the window.
type Organization struct {
	Name      string  `json:"name"`
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	PeakUsers int     `json:"peak_users"`
	PeakRate  float64 `json:"peak_requests_per_hour"`
	// Growth is the requests of the last 7 days over those of the first 7.
	Growth      float64    `json:"growth"`
	RankLoad    int        `json:"rank_load"`
	RankGrowth  int        `json:"rank_growth"`
	Servers     []string   `json:"servers"`
	DailyLoad   []DayValue `json:"daily_requests"`
	ErrorsPct   float64    `json:"errors_pct"`
	LoadSharePc float64    `json:"load_share_pct"`
}

// Build reads the window's rollups and organization load and computes the
// report. Every figure but the time of a peak is a merge of whole days
// (count, min, max, sum and the p95 sketch merge exactly), so the key
// indicators are read from the 1-day rollups, the day in progress from
// the 1-hour ones, and the hours of each peak day to date the peak to its
// hour: the same figures as merging every hour of the window (or every
// minute: the hours are merges of their minutes), from about one bucket a
// day per series instead of 24 (TestDailyRollupsGiveTheHourlyFigures).
func Build(ctx context.Context, src Source, o Options) (*Report, error) {
	return build(ctx, src, o, collect)
}

// collector reads each server's key indicators over [from, to).
type collector func(ctx context.Context, src Source, from, to time.Time, days int) (map[key]*acc, error)

func build(ctx context.Context, src Source, o Options, collect collector) (*Report, error) {
	if o.Since <= 0 {
		o.Since = DefaultSince
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Horizon <= 0 {
		o.Horizon = 180
	}
	to := o.Now.UTC().Truncate(time.Hour)
	from := to.Add(-o.Since).Truncate(24 * time.Hour)
	days := int(math.Ceil(to.Sub(from).Hours() / 24))
	r := &Report{Version: Version, Generated: o.Now.UTC(), From: from, To: to}

	accs, err := collect(ctx, src, from, to, days)
	if err != nil {
		return nil, err
	}
	stat := func(ind indicator, total *rollup.Agg, peakAt int64, daily []float64) Stat {
		s := Stat{Indicator: ind.Key, Name: ind.Name, Unit: ind.Unit, Avg: total.Avg(), P95: total.P95(), Peak: total.Max,
			PeakAt: time.Unix(peakAt, 0).UTC(), Samples: total.Count}
		s.TrendPct = trendPct(daily)
		return s
	}
	dailyP95 := func(aggs []rollup.Agg) []float64 {
		out := make([]float64, len(aggs))
		for i := range aggs {
			out[i] = aggs[i].P95()
		}
		return out
	}

	// Servers and their forecasts.
	hosts := map[string]*Group{}
	var keys []key
	for k := range accs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].host != keys[b].host {
			return keys[a].host < keys[b].host
		}
		return keys[a].ind < keys[b].ind
	})
	type roleAcc struct {
		hosts  map[string]bool
		total  rollup.Agg
		peakAt int64
		days   []rollup.Agg
	}
	roles := map[string]map[int]*roleAcc{}
	farm := map[int]*roleAcc{}
	for _, k := range keys {
		a := accs[k]
		ind := indicators[k.ind]
		g := hosts[k.host]
		if g == nil {
			g = &Group{Name: k.host, Role: a.role}
			hosts[k.host] = g
		}
		daily := dailyP95(a.days)
		g.Stats = append(g.Stats, stat(ind, &a.total, a.peakAt, daily))
		hist := make([]DayValue, 0, days)
		for d, v := range daily {
			if !math.IsNaN(v) { // a day without readings
				hist = append(hist, DayValue{Day: from.Add(time.Duration(d) * 24 * time.Hour), Value: v})
			}
		}
		f := Forecast{Host: k.host, Role: a.role, Indicator: ind.Key, Name: ind.Name, Unit: ind.Unit, Threshold: ind.Threshold, Below: ind.Below,
			Source: ind.Source, History: hist,
			Result: forecast.Forecast(daily, from, 24*time.Hour, forecast.Options{Horizon: o.Horizon, Threshold: ind.Threshold, Below: ind.Below})}
		r.Forecasts = append(r.Forecasts, f)
		for _, m := range []map[int]*roleAcc{roleMap(roles, a.role), farm} {
			ra := m[k.ind]
			if ra == nil {
				ra = &roleAcc{hosts: map[string]bool{}, days: make([]rollup.Agg, days)}
				m[k.ind] = ra
			}
			ra.hosts[k.host] = true
			if ra.total.Count == 0 || a.total.Max > ra.total.Max {
				ra.peakAt = a.peakAt
			}
			ra.total.Merge(&a.total)
			for d := range a.days {
				ra.days[d].Merge(&a.days[d])
			}
		}
	}
	for i := range indicators {
		if ra := farm[i]; ra != nil {
			r.Farm = append(r.Farm, stat(indicators[i], &ra.total, ra.peakAt, dailyP95(ra.days)))
		}
	}
	for _, role := range sortedKeys(roles) {
		g := Group{Name: role}
		set := map[string]bool{}
		for i := range indicators {
			if ra := roles[role][i]; ra != nil {
				g.Stats = append(g.Stats, stat(indicators[i], &ra.total, ra.peakAt, dailyP95(ra.days)))
				for h := range ra.hosts {
					set[h] = true
				}
			}
		}
		g.Hosts = sortedKeys(set)
		r.Roles = append(r.Roles, g)
	}

	orgs, perHost, dailyUsers, err := organizations(ctx, src, from, to, days)
	if err != nil {
		return nil, err
	}
	r.Organizations = orgs
	for _, h := range sortedKeys(hosts) {
		g := hosts[h]
		g.Organizations = perHost[h]
		r.Servers = append(r.Servers, *g)
	}
	// Soonest crossing first, then the others by indicator and host.
	sort.SliceStable(r.Forecasts, func(a, b int) bool {
		da, db := r.Forecasts[a].DaysToThreshold, r.Forecasts[b].DaysToThreshold
		switch {
		case da != nil && db != nil:
			return *da < *db
		case da != nil || db != nil:
			return da != nil
		}
		return false
	})
	r.Tier = advise(r, dailyUsers, from, o.Horizon)
	return r, nil
}

// key is one server's indicator; acc its figures over the window.
type key struct {
	host string
	ind  int
}

type acc struct {
	host, role string
	total      rollup.Agg
	// peakAt is the start of the earliest bucket holding total.Max, and
	// peakRes its resolution (a day is narrowed to its hour afterwards).
	peakAt  int64
	peakRes rollup.Resolution
	days    []rollup.Agg
	seen    bool // a bucket was read (a series with none is left out)
	// counters are the series read into the accumulator (w3wp instances
	// share one).
	counters []string
}

// add merges one bucket; the window's days start at from.
func (a *acc) add(row *rollup.SeriesRow, from int64) {
	a.seen = true
	if row.Count == 0 {
		return
	}
	if a.total.Count == 0 || row.Max > a.total.Max || row.Max == a.total.Max && row.Bucket < a.peakAt {
		a.peakAt, a.peakRes = row.Bucket, row.Res
	}
	a.total.Merge(&row.Agg)
	if d := int((row.Bucket - from) / 86400); d >= 0 && d < len(a.days) {
		a.days[d].Merge(&row.Agg)
	}
}

// collect reads each server's key indicators over [from, to): whole days
// from the 1-day rollups, the rest from the 1-hour ones, then the hours of
// each peak day.
func collect(ctx context.Context, src Source, from, to time.Time, days int) (map[key]*acc, error) {
	series, err := src.RollupSeries(ctx)
	if err != nil {
		return nil, err
	}
	accs := map[key]*acc{}
	of := map[[2]string]*acc{}
	lastDay := max(from.Unix(), to.Truncate(24*time.Hour).Unix())
	var dayRanges, hourRanges []rollup.Range
	for _, sr := range series {
		i, ok := indicatorOf(sr.Counter)
		if !ok {
			continue
		}
		k := key{sr.Host, i}
		a := accs[k]
		if a == nil {
			a = &acc{host: sr.Host, days: make([]rollup.Agg, days)}
			accs[k] = a
		}
		a.role = sr.Role
		a.counters = append(a.counters, sr.Counter)
		of[[2]string{sr.Host, sr.Counter}] = a
		dayRanges = append(dayRanges, rollup.Range{Host: sr.Host, Counter: sr.Counter, From: from.Unix(), To: lastDay})
		hourRanges = append(hourRanges, rollup.Range{Host: sr.Host, Counter: sr.Counter, From: lastDay, To: to.Unix()})
	}
	add := func(row *rollup.SeriesRow) error {
		of[[2]string{row.Host, row.Counter}].add(row, from.Unix())
		return nil
	}
	if err := src.ScanRanges(ctx, rollup.Day, dayRanges, add); err != nil {
		return nil, err
	}
	if err := src.ScanRanges(ctx, rollup.Hour, hourRanges, add); err != nil {
		return nil, err
	}
	// A peak found in a day is dated to the earliest hour of that day
	// holding it (the day's start if its hours are gone).
	var peaks []rollup.Range
	for _, a := range accs {
		if a.total.Count > 0 && a.peakRes == rollup.Day {
			for _, c := range a.counters {
				peaks = append(peaks, rollup.Range{Host: a.host, Counter: c, From: a.peakAt, To: a.peakAt + 86400})
			}
		}
	}
	sort.Slice(peaks, func(i, j int) bool {
		return peaks[i].Host < peaks[j].Host || peaks[i].Host == peaks[j].Host && peaks[i].Counter < peaks[j].Counter
	})
	hour := map[*acc]int64{}
	err = src.ScanRanges(ctx, rollup.Hour, peaks, func(row *rollup.SeriesRow) error {
		a := of[[2]string{row.Host, row.Counter}]
		if h, ok := hour[a]; row.Count > 0 && row.Max == a.total.Max && (!ok || row.Bucket < h) {
			hour[a] = row.Bucket
		}
		return nil
	})
	for a, h := range hour {
		a.peakAt, a.peakRes = h, rollup.Hour
	}
	for k, a := range accs {
		if !a.seen {
			delete(accs, k)
		}
	}
	return accs, err
}

func roleMap[T any](m map[string]map[int]T, role string) map[int]T {
	if role == "" {
		role = "(no role)"
	}
	if m[role] == nil {
		m[role] = map[int]T{}
	}
	return m[role]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// trendPct is the least-squares slope of the known daily values over 30
// days, in percent of their mean.
func trendPct(daily []float64) float64 {
	var xs, ys []float64
	for i, v := range daily {
		if !math.IsNaN(v) {
			xs, ys = append(xs, float64(i)), append(ys, v)
		}
	}
	if len(xs) < 2 {
		return 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 || my == 0 {
		return 0
	}
	return 100 * 30 * (sxy / sxx) / math.Abs(my)
}

// organizations sums each organization's load over the window; perHost
// counts the organizations with load on each server.
func organizations(ctx context.Context, src Source, from, to time.Time, days int) ([]Organization, map[string]int, []float64, error) {
	hours := int(to.Sub(from) / time.Hour)
	hourUsers := make([]int, hours)
	// The rows come by hour: each organization sums the hour in progress
	// (its users' union across servers, its requests) and closes it when
	// the next begins.
	type acc struct {
		o          Organization
		daily      []float64
		hour       int64
		users, tmp rollup.UserSet
		rate       uint64
		server     map[string]bool
	}
	closeHour := func(a *acc) {
		if a.hour < 0 {
			return
		}
		n := a.users.Len()
		a.o.PeakUsers = max(a.o.PeakUsers, n)
		hourUsers[a.hour] += n
		a.o.PeakRate = max(a.o.PeakRate, float64(a.rate))
		a.hour, a.users, a.rate = -1, a.users[:0], 0
	}
	accs := map[string]*acc{}
	prevHour := int64(-1)
	err := src.ScanOrgs(ctx, from, to, func(row *rollup.OrgRow) error {
		if row.Hour < prevHour {
			return fmt.Errorf("organization load read out of hour order (%d after %d)", row.Hour, prevHour)
		}
		prevHour = row.Hour
		a := accs[row.Organization]
		if a == nil {
			a = &acc{o: Organization{Name: row.Organization}, daily: make([]float64, days), hour: -1, server: map[string]bool{}}
			accs[row.Organization] = a
		}
		a.o.Requests += row.Requests
		a.o.Errors += row.Errors
		a.server[row.Host] = true
		h := (row.Hour - from.Unix()) / 3600
		if row.Hour < from.Unix() || h >= int64(hours) {
			return nil
		}
		if h != a.hour {
			closeHour(a)
			a.hour = h
		}
		a.daily[h/24] += float64(row.Requests)
		a.tmp = rollup.Union(a.tmp, a.users, row.Users)
		a.users, a.tmp = a.tmp, a.users
		a.rate += row.Requests
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var total uint64
	counts := map[string]int{}
	out := make([]Organization, 0, len(accs))
	for _, a := range accs {
		closeHour(a)
		for h := range a.server {
			counts[h]++
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
	dailyUsers := make([]float64, days)
	for h, n := range hourUsers {
		dailyUsers[h/24] = max(dailyUsers[h/24], float64(n))
	}
	return out, counts, dailyUsers, nil
}

// hasRole reports whether a comma-separated role list names role.
func hasRole(list, role string) bool {
	for _, r := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(r), role) {
			return true
		}
	}
	return false
}
