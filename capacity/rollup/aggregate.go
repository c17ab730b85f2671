package rollup

import (
	"hash/fnv"
	"strings"

	"crmwatch/event"
)

// Aggregator rolls samples and trace events up in memory until Take hands
// the deltas to the store. It is not safe for concurrent use.
type Aggregator struct {
	series map[SeriesKey]*seriesCell
	orgs   map[OrgKey]*OrgRow
	// seen remembers the request ids counted per organization, host and
	// hour, so a request traced over many records (and flushes) counts
	// once; hours more than two behind the newest are forgotten.
	seen    map[OrgKey]map[uint64]struct{}
	newest  int64
	samples int
}

type seriesCell struct {
	role string
	agg  Agg
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{series: map[SeriesKey]*seriesCell{}, orgs: map[OrgKey]*OrgRow{}, seen: map[OrgKey]map[uint64]struct{}{}}
}

// AddSamples rolls samples up to every resolution.
func (a *Aggregator) AddSamples(ss []event.Sample) {
	for i := range ss {
		s := &ss[i]
		a.AddValue(s.Host, s.Role, s.Counter, s.Time.Unix(), s.Value)
	}
}

// AddValue rolls one reading (t in Unix seconds) up to every resolution.
func (a *Aggregator) AddValue(host, role, counter string, t int64, v float64) {
	a.samples++
	for _, r := range Resolutions {
		k := SeriesKey{Res: r, Host: host, Counter: counter, Bucket: t - mod(t, int64(r))}
		c := a.series[k]
		if c == nil {
			c = &seriesCell{}
			a.series[k] = c
		}
		if role != "" {
			c.role = role
		}
		c.agg.Add(v)
	}
}

// AddEvents derives organization load from trace events: a request is a
// distinct request id, an error a record at level error or above, a user a
// distinct user name. Events without an organization are not load of one.
func (a *Aggregator) AddEvents(evs []event.Event) {
	for i := range evs {
		e := &evs[i]
		if e.Source != event.SourceTrace || e.Organization == "" {
			continue
		}
		t := e.Time.Unix()
		k := OrgKey{Organization: strings.ToLower(e.Organization), Host: e.Host, Hour: t - mod(t, int64(Hour))}
		r := a.org(k)
		if e.RequestID != "" {
			if a.firstSight(k, e.RequestID) {
				r.Requests++
			}
		}
		if e.Level >= event.LevelError {
			r.Errors++
		}
		if u := e.Fields["user"]; u != "" {
			r.Users.Add(hash32(strings.ToLower(u)))
		}
	}
}

// AddOrgHour adds an organization's load directly (the back-fill).
func (a *Aggregator) AddOrgHour(k OrgKey, requests, errors uint64, users []string) {
	r := a.org(k)
	r.Requests += requests
	r.Errors += errors
	for _, u := range users {
		r.Users.Add(hash32(strings.ToLower(u)))
	}
}

func (a *Aggregator) org(k OrgKey) *OrgRow {
	r := a.orgs[k]
	if r == nil {
		r = &OrgRow{OrgKey: k}
		a.orgs[k] = r
	}
	return r
}

func (a *Aggregator) firstSight(k OrgKey, id string) bool {
	if k.Hour > a.newest {
		a.newest = k.Hour
		for old := range a.seen {
			if old.Hour < a.newest-2*int64(Hour) {
				delete(a.seen, old)
			}
		}
	}
	set := a.seen[k]
	if set == nil {
		set = map[uint64]struct{}{}
		a.seen[k] = set
	}
	h := hash64(id)
	if _, ok := set[h]; ok {
		return false
	}
	set[h] = struct{}{}
	return true
}

// Pending is how many buckets wait for Take.
func (a *Aggregator) Pending() int { return len(a.series) + len(a.orgs) }

// Samples is how many samples were added since the last Take.
func (a *Aggregator) Samples() int { return a.samples }

// Take returns the deltas rolled up since the last Take and starts afresh
// (the request ids seen stay, so a request spanning a flush counts once).
func (a *Aggregator) Take() (series []SeriesRow, orgs []OrgRow) {
	series = make([]SeriesRow, 0, len(a.series))
	for k, c := range a.series {
		series = append(series, SeriesRow{SeriesKey: k, Role: c.role, Agg: c.agg})
	}
	orgs = make([]OrgRow, 0, len(a.orgs))
	for _, r := range a.orgs {
		orgs = append(orgs, *r)
	}
	clear(a.series)
	clear(a.orgs)
	a.samples = 0
	return series, orgs
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// AddValueFrom is AddValue without the 1-minute bucket for readings before
// minutesFrom (Unix seconds): the back-fill writes minutes only for the
// recent history the minute retention keeps.
func (a *Aggregator) AddValueFrom(host, role, counter string, t int64, v float64, minutesFrom int64) {
	if t >= minutesFrom {
		a.AddValue(host, role, counter, t, v)
		return
	}
	a.samples++
	for _, r := range Resolutions[1:] {
		k := SeriesKey{Res: r, Host: host, Counter: counter, Bucket: t - mod(t, int64(r))}
		c := a.series[k]
		if c == nil {
			c = &seriesCell{}
			a.series[k] = c
		}
		if role != "" {
			c.role = role
		}
		c.agg.Add(v)
	}
}
