package simulate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"crmwatch/event"
)

// What the capacity history back-fill (capacity/backfill) reads of a farm
// besides Counters: every counter a host shows, faults at chosen times and
// the tenants' shares of the traffic.

// CounterPaths lists every counter path host shows (instances expanded),
// in a stable order.
func (f *Farm) CounterPaths(host string) ([]event.CounterPath, error) {
	h := f.counterHosts[strings.ToLower(host)]
	if h == nil {
		return nil, fmt.Errorf("simulate: no host %q in the farm", host)
	}
	var out []event.CounterPath
	for i := range simObjects {
		o := &simObjects[i]
		if o.roles != nil && !h.hasAny(o.roles...) {
			continue
		}
		insts := []string{""}
		if o.instances != nil {
			insts = o.instances(h)
		}
		for _, c := range o.counters {
			for _, in := range insts {
				out = append(out, event.CounterPath{Object: o.name, Instance: in, Counter: c.name})
			}
		}
	}
	return out, nil
}

// CounterHosts is every host with counters: the CRM servers, then the SQL
// servers.
func (f *Farm) CounterHosts() []Host {
	return append(f.Hosts(), f.SQLServers()...)
}

// InjectAt makes the named fault active from `from` (simulated time) for d
// (d = 0: until cleared), whatever the farm's clock says now: the
// back-fill places an incident in the past.
func (f *Farm) InjectAt(name string, from time.Time, d time.Duration) error {
	if _, err := lookupFault(name); err != nil {
		return fmt.Errorf("simulate: inject: %w", err)
	}
	if d < 0 {
		return fmt.Errorf("simulate: inject %q: duration %s is negative", name, d)
	}
	w := faultWindow{from: from}
	if d > 0 {
		w.until = from.Add(d)
	}
	f.faults.set(name, w)
	return nil
}

// Load is the farm's business load at t (0.05 at night to 1 at the busiest
// hour of a weekday, times the growth since Start).
func (f *Farm) Load(t time.Time) float64 { return f.load(t) }

// Weight is the organization's share of the farm's traffic (the first
// tenants are busiest).
func (o Org) Weight() int { return o.weight }

// Users is the login names of the organization's users.
func (o Org) Users() []string {
	out := make([]string, 0, len(o.users))
	for _, u := range o.users {
		out = append(out, u.login)
	}
	return slices.Clip(out)
}
