// Package backfill writes realistic capacity history straight into a
// store: the counters of a simulated farm (daily and weekly cycles, a
// growing business, one incident) and the load of its organizations (one
// of them growing fast), rolled up as the rollup consumer would, so a
// newcomer or a test sees a real capacity report at once.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/event"
	"crmwatch/simulate"
)

// Store is where the history goes (store/sqlstore has it).
type Store interface {
	CommitRollup(ctx context.Context, c rollup.Commit) error
}

// Defaults.
const (
	DefaultStep   = 5 * time.Minute
	DefaultGrowth = 0.006 // +0.6 % load a day: about +54 % over 90 days
	// FastOrg is the index of the tenant whose traffic grows fastest
	// (fourfold over the span).
	FastOrg = 2
	// DefaultIncident is the fault placed at 70 % of the span for 3 hours.
	DefaultIncident = simulate.FaultSlowQueries
)

// Options configure a back-fill. Span is required.
type Options struct {
	// Span is how far back the history goes from End (e.g. 90 days).
	Span time.Duration
	// End is the end of the history (default now), rounded down to Step.
	End time.Time
	// Step is the sampling interval of the counters (default 5 minutes).
	Step time.Duration
	// MinutesFor is how much of the most recent history also gets
	// 1-minute buckets (default 24 hours; older minute buckets would be
	// past the minute retention soon anyway).
	MinutesFor time.Duration
	// Hosts, Orgs and Seed are the simulated farm's (simulate defaults).
	Hosts, Orgs int
	Seed        int64
	// Growth is the farm's daily load growth (default DefaultGrowth).
	Growth float64
	// Progress is called after each simulated day with the days done and
	// the total.
	Progress func(done, total int)
}

// Result says what was written.
type Result struct {
	From, To      time.Time
	Hosts, Orgs   int
	Samples       int64
	Series        int
	Incident      string
	IncidentStart time.Time
	FastOrg       string
}

// Run writes the history into st.
func Run(ctx context.Context, st Store, o Options) (Result, error) {
	if o.Span <= 0 {
		return Result{}, errors.New("backfill: the span must be positive (e.g. 90d)")
	}
	if o.Step <= 0 {
		o.Step = DefaultStep
	}
	if o.MinutesFor <= 0 {
		o.MinutesFor = 24 * time.Hour
	}
	if o.Growth == 0 {
		o.Growth = DefaultGrowth
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	end := o.End.UTC().Truncate(o.Step)
	start := end.Add(-o.Span).Truncate(time.Hour)
	tmp, err := os.MkdirTemp("", "crmwatch-backfill-")
	if err != nil {
		return Result{}, fmt.Errorf("backfill: %w", err)
	}
	defer os.RemoveAll(tmp)
	farm, err := simulate.New(simulate.Options{Out: tmp, Hosts: o.Hosts, Orgs: o.Orgs, Seed: o.Seed, Start: start, Growth: o.Growth})
	if err != nil {
		return Result{}, fmt.Errorf("backfill: %w", err)
	}
	defer farm.Close()
	incident := start.Add(time.Duration(0.7 * float64(end.Sub(start)))).Truncate(24 * time.Hour).Add(10 * time.Hour)
	if err := farm.InjectAt(DefaultIncident, incident, 3*time.Hour); err != nil {
		return Result{}, err
	}
	res := Result{From: start, To: end, Hosts: len(farm.CounterHosts()), Orgs: len(farm.Orgs()), Incident: DefaultIncident, IncidentStart: incident}
	if orgs := farm.Orgs(); FastOrg < len(orgs) {
		res.FastOrg = orgs[FastOrg].Name
	}

	type hostPlan struct {
		name, role string
		paths      []event.CounterPath
		names      []string
		frontEnd   bool
	}
	var hosts []hostPlan
	var frontEnds []string
	for _, h := range farm.CounterHosts() {
		paths, err := farm.CounterPaths(h.Name)
		if err != nil {
			return res, err
		}
		hp := hostPlan{name: h.Name, role: strings.Join(event.RoleStrings(h.Roles), ","), paths: paths}
		for _, p := range paths {
			hp.names = append(hp.names, p.String())
		}
		for _, r := range h.Roles {
			if r == simulate.RoleAppServer {
				hp.frontEnd = true
				frontEnds = append(frontEnds, h.Name)
			}
		}
		hosts = append(hosts, hp)
		res.Series += len(paths)
	}

	agg := rollup.NewAggregator()
	minutesFrom := end.Add(-o.MinutesFor).Unix()
	days := int(math.Ceil(end.Sub(start).Hours() / 24))
	commit := func() error {
		series, orgs := agg.Take()
		return st.CommitRollup(ctx, rollup.Commit{Series: series, Orgs: orgs})
	}
	day := 0
	for t := start; t.Before(end); t = t.Add(o.Step) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		for _, h := range hosts {
			vals, err := farm.Counters(h.name, t, h.paths)
			if err != nil {
				return res, err
			}
			for i, v := range vals {
				name := v.Path.String()
				if i < len(h.names) && h.paths[i] == v.Path {
					name = h.names[i]
				}
				agg.AddValueFrom(h.name, h.role, name, t.Unix(), v.Value, minutesFrom)
				res.Samples++
			}
		}
		if t.Minute() == 0 && t.Second() == 0 {
			addOrgHour(agg, farm, t, start, end, frontEnds, incident)
		}
		if next := t.Add(o.Step); next.Sub(start)/(24*time.Hour) != t.Sub(start)/(24*time.Hour) || !next.Before(end) {
			if err := commit(); err != nil {
				return res, fmt.Errorf("backfill: %w", err)
			}
			day++
			if o.Progress != nil {
				o.Progress(min(day, days), days)
			}
		}
	}
	return res, nil
}

// addOrgHour writes one hour of every organization's load, spread over the
// front-end servers: requests follow the farm's load and the tenant's
// weight, the fast tenant grows fourfold over the span, errors are 0.2 %
// of requests and twentyfold during the incident for the tenants on the
// faulted SQL server.
func addOrgHour(agg *rollup.Aggregator, farm *simulate.Farm, t, start, end time.Time, frontEnds []string, incident time.Time) {
	if len(frontEnds) == 0 {
		return
	}
	frac := t.Sub(start).Hours() / end.Sub(start).Hours()
	load := farm.Load(t.Add(30 * time.Minute))
	inIncident := !t.Before(incident) && t.Before(incident.Add(3*time.Hour))
	for i, org := range farm.Orgs() {
		grow := 1.0
		if i == FastOrg {
			grow = 1 + 3*frac
		}
		noise := 0.9 + 0.2*unit(uint64(t.Unix())*2654435761+uint64(i)*40503)
		requests := 600 * float64(org.Weight()) * load * grow * noise
		errRate := 0.002
		if inIncident && org.SQLServer == "CRMSQL01" {
			errRate = 0.04
		}
		users := orgUsers(org, i, load, grow)
		for k, host := range frontEnds {
			share := 1 / float64(len(frontEnds))
			req := uint64(math.Round(requests * share))
			var mine []string
			for j := k; j < len(users); j += len(frontEnds) {
				mine = append(mine, users[j])
			}
			agg.AddOrgHour(rollup.OrgKey{Organization: strings.ToLower(org.Name), Host: host, Hour: t.Unix()},
				req, uint64(math.Round(float64(req)*errRate)), mine)
		}
	}
}

// orgUsers are the users active in the hour: the tenant's own and, for
// busier tenants, more of the same domain.
func orgUsers(org simulate.Org, i int, load, grow float64) []string {
	total := 12 * org.Weight()
	if i == FastOrg {
		total = int(float64(total) * grow)
	}
	n := max(1, int(math.Round(float64(total)*min(1, load*1.2))))
	base := org.Users()
	out := make([]string, 0, n)
	for j := range n {
		if j < len(base) {
			out = append(out, base[j])
			continue
		}
		out = append(out, fmt.Sprintf("user%03d@%s.local", j, strings.ToLower(org.Name)))
	}
	return out
}

func unit(x uint64) float64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}
