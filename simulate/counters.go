package simulate

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"crmwatch/event"
)

// faultRamp is how long (simulated) a gauge takes to reach its fault value.
const faultRamp = 30 * time.Second

// cumulativeStep bounds one integration step of a cumulative counter.
const cumulativeStep = 15 * time.Second

// CounterValue is one simulated counter reading.
type CounterValue struct {
	Path  event.CounterPath
	Value float64
}

// counterHost is the performance counters of one simulated server: a
// gauge is a function of the simulated time (daily and weekly load,
// growth, noise, active faults); a cumulative counter integrates its rate
// from the farm's start.
type counterHost struct {
	farm      *Farm
	name      string
	roles     []event.Role
	databases []string // organization databases (SQL servers)
	sqlFault  bool     // the SQL server whose organizations SQL faults hit
	scale     float64  // this host's share of the load (0.85–1.15)

	mu  sync.Mutex
	cum map[string]*cumState
}

type cumState struct {
	at    time.Time
	value float64
}

func (h *counterHost) has(r event.Role) bool { return slices.Contains(h.roles, r) }

func (h *counterHost) hasAny(rs ...event.Role) bool {
	for _, r := range rs {
		if h.has(r) {
			return true
		}
	}
	return false
}

// Counters returns the counter values host shows at simulated time at for
// the wanted paths, wildcard instances expanded; paths the host does not
// have (another role's object, a counter no PAL file names) are left out,
// as PDH leaves them out. A zero at means the farm's current time.
func (f *Farm) Counters(host string, at time.Time, want []event.CounterPath) ([]CounterValue, error) {
	h := f.counterHosts[strings.ToLower(host)]
	if h == nil {
		return nil, fmt.Errorf("simulate: no host %q in the farm", host)
	}
	if at.IsZero() {
		at = f.clock.now()
	}
	var out []CounterValue
	for _, w := range want {
		out = append(out, h.read(w, at)...)
	}
	return out, nil
}

// SQLServers describes the farm's SQL servers (CRMSQL01, …), which hold
// the organizations' databases: role SqlServer, counters only (no trace
// files).
func (f *Farm) SQLServers() []Host {
	var out []Host
	for _, name := range f.sqlNames {
		out = append(out, Host{Name: name, Roles: []event.Role{RoleSqlServer}})
	}
	return out
}

// newCounterHosts builds the counter models of the trace hosts and of the
// SQL servers the tenants' databases live on.
func (f *Farm) newCounterHosts() {
	f.counterHosts = map[string]*counterHost{}
	add := func(name string, roles []event.Role) *counterHost {
		h := &counterHost{farm: f, name: name, roles: roles, scale: 0.85 + 0.3*unit(hash64(f.opts.Seed, name, "scale", 0)), cum: map[string]*cumState{}}
		f.counterHosts[strings.ToLower(name)] = h
		return h
	}
	for _, h := range f.hosts {
		add(h.spec.Name, h.spec.Roles)
	}
	dbs := map[string][]string{}
	for _, o := range f.orgs {
		if _, ok := dbs[o.SQLServer]; !ok {
			f.sqlNames = append(f.sqlNames, o.SQLServer)
		}
		dbs[o.SQLServer] = append(dbs[o.SQLServer], o.Database)
	}
	slices.Sort(f.sqlNames)
	for _, name := range f.sqlNames {
		h := add(name, []event.Role{RoleSqlServer})
		h.databases = dbs[name]
		h.sqlFault = name == faultedSQLServer
	}
}

// faultedSQLServer is the SQL server whose organizations the SQL faults hit
// (the trace faults use the same one).
const faultedSQLServer = "CRMSQL01"

// read returns the readings of one wanted path.
func (h *counterHost) read(w event.CounterPath, at time.Time) []CounterValue {
	obj := h.object(w.Object)
	if obj == nil {
		return nil
	}
	c, ok := obj.counter(w.Counter)
	if !ok {
		return nil
	}
	insts := []string{""}
	if obj.instances != nil {
		insts = obj.instances(h)
	}
	var out []CounterValue
	for _, in := range insts {
		switch {
		case obj.instances == nil && w.Instance != "":
			continue
		case obj.instances != nil && w.Instance != "*" && !strings.EqualFold(w.Instance, in):
			continue
		}
		p := event.CounterPath{Object: obj.name, Instance: in, Counter: c.name}
		out = append(out, CounterValue{Path: p, Value: h.value(p, c, at)})
	}
	return out
}

// object finds the host's object by name (any letter case).
func (h *counterHost) object(name string) *simObject {
	for i := range simObjects {
		o := &simObjects[i]
		if strings.EqualFold(o.name, name) && (o.roles == nil || h.hasAny(o.roles...)) {
			return o
		}
	}
	return nil
}

// counter finds a counter of the object; an unlisted failure counter of
// an object with failures is a cumulative counter at 0.
func (o *simObject) counter(name string) (simCounter, bool) {
	for _, c := range o.counters {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	if o.failures && isFailureCounter(name) {
		return simCounter{name: name, kind: cumulative}, true
	}
	return simCounter{}, false
}

func isFailureCounter(name string) bool {
	for _, w := range []string{"Failed", "Failures", "Errors", "Crashed", "Terminated"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func (h *counterHost) value(p event.CounterPath, c simCounter, at time.Time) float64 {
	if c.kind == cumulative {
		return h.cumulative(p, c, at)
	}
	load := h.farm.load(at)
	days := at.Sub(h.farm.started).Hours() / 24
	v := (c.quiet + (c.busy-c.quiet)*load*h.scale) * (1 + c.growth*days)
	v *= 1 + c.noise*(2*unit(hash64(h.farm.opts.Seed, h.name+p.String(), "noise", at.Unix()/15))-1)
	for _, e := range c.faults {
		if e.onSQL && !h.sqlFault {
			continue
		}
		if k := h.farm.faultIntensity(e.fault, at); k > 0 {
			v += (e.value - v) * k
		}
	}
	if c.max > 0 {
		v = min(v, c.max)
	}
	return max(v, 0)
}

// cumulative integrates the counter's rate up to at (reads move forward).
func (h *counterHost) cumulative(p event.CounterPath, c simCounter, at time.Time) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := p.String()
	st := h.cum[k]
	if st == nil {
		st = &cumState{at: at}
		h.cum[k] = st
	}
	for st.at.Before(at) {
		step := min(at.Sub(st.at), cumulativeStep)
		mid := st.at.Add(step / 2)
		rate := c.quiet + (c.busy-c.quiet)*h.farm.load(mid)
		for _, e := range c.faults {
			if !e.onSQL || h.sqlFault {
				rate += e.rate * h.farm.faultIntensity(e.fault, mid)
			}
		}
		st.value += rate * step.Seconds()
		st.at = st.at.Add(step)
	}
	v := math.Floor(st.value)
	if c.max > 0 {
		v = min(v, c.max)
	}
	return v
}

// load is the farm's business load at t in [0.05, 1]: a working day that
// peaks early in the afternoon (local time of the farm's clock) and
// weekends at a quarter of a weekday; Options.Growth raises it linearly
// from the farm's start (history for capacity planning).
func (f *Farm) load(t time.Time) float64 {
	return f.baseLoad(t) * (1 + f.opts.Growth*max(0, t.Sub(f.started).Hours()/24))
}

func (f *Farm) baseLoad(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	day := math.Exp(-math.Pow((h-13.5)/3.2, 2))
	week := 1.0
	switch t.Weekday() {
	case time.Saturday:
		week = 0.3
	case time.Sunday:
		week = 0.2
	}
	return 0.05 + 0.95*day*week
}

// faultIntensity is 0 when the fault is inactive at t and rises to 1 over
// faultRamp after it started.
func (f *Farm) faultIntensity(name string, t time.Time) float64 {
	w, ok := f.faults.window(name)
	if !ok || !w.covers(t) {
		return 0
	}
	return min(1, float64(t.Sub(w.from))/float64(faultRamp))
}

// hash64 is a deterministic hash of the seed, a key and a bucket: the same
// farm shows the same values at the same simulated times.
func hash64(seed int64, key, salt string, bucket int64) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s|%d", seed, key, salt, bucket)
	return h.Sum64()
}

// unit maps a hash to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }
