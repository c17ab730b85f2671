package simulate

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// raised records the alerts the engine raises or escalates, as "rule host
// severity".
type raised struct {
	mu  sync.Mutex
	got map[string]bool
}

func (r *raised) Send(_ context.Context, cs []alerts.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		if c.Kind != alerts.ChangeRaised && c.Kind != alerts.ChangeSeverityChanged && c.Kind != alerts.ChangeReopened {
			continue
		}
		r.got[c.Alert.Rule+" "+strings.Join(c.Alert.Hosts, ",")+" "+string(c.Alert.Severity)] = true
	}
	return nil
}

func (r *raised) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k := range r.got {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// packFarm is a simulated farm read the way agents read it: every host
// (trace hosts and SQL servers) samples the counters the built-in pack's
// plan asks for its roles, and the pack's rules evaluate them.
type packFarm struct {
	t      *testing.T
	f      *Farm
	engine *rules.Engine
	sent   *raised
	want   map[string][]event.CounterPath // host → paths of its roles' plans
	hosts  []Host
}

func newPackFarm(t *testing.T, start time.Time) *packFarm {
	t.Helper()
	f, err := New(Options{Out: t.TempDir(), Hosts: 3, Orgs: 8, Seed: 11, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := &raised{got: map[string]bool{}}
	e := rules.NewEngine(rules.Options{Sender: sent, Logger: slog.New(slog.DiscardHandler)})
	if err := e.Load(rs); err != nil {
		t.Fatal(err)
	}
	pf := &packFarm{t: t, f: f, engine: e, sent: sent, want: map[string][]event.CounterPath{}}
	plans := packs.Plans([]*packs.Pack{p})
	pf.hosts = append(f.Hosts(), f.SQLServers()...)
	for _, h := range pf.hosts {
		seen := map[string]bool{}
		for _, r := range h.Roles {
			for _, cs := range plans[r].Counters {
				for _, path := range cs.Paths {
					cp, err := event.ParseCounterPath(path)
					if err != nil {
						t.Fatal(err)
					}
					if !seen[path] {
						seen[path] = true
						pf.want[h.Name] = append(pf.want[h.Name], cp)
					}
				}
			}
		}
		if err := e.Heartbeat(context.Background(), h.Name, event.RoleStrings(h.Roles), start); err != nil {
			t.Fatal(err)
		}
	}
	return pf
}

// run samples every host every step from `from` for d and evaluates.
func (pf *packFarm) run(from time.Time, d, step time.Duration) {
	for at := from; at.Before(from.Add(d)); at = at.Add(step) {
		var ss []event.Sample
		for _, h := range pf.hosts {
			vs, err := pf.f.Counters(h.Name, at, pf.want[h.Name])
			if err != nil {
				pf.t.Fatal(err)
			}
			for _, v := range vs {
				ss = append(ss, event.Sample{Time: at, Host: h.Name, Counter: v.Path.String(), Value: v.Value})
			}
		}
		for _, h := range pf.hosts {
			if err := pf.engine.Heartbeat(context.Background(), h.Name, event.RoleStrings(h.Roles), at); err != nil {
				pf.t.Fatal(err)
			}
		}
		if err := pf.engine.ProcessSamples(context.Background(), ss); err != nil {
			pf.t.Fatal(err)
		}
	}
}

// TestCountersHealthyAndFaulted: a week of the farm without faults raises
// no counter alert of the built-in pack (every value stays on the good
// side of the PAL thresholds through the daily and weekly cycle), and
// each fault raises the alerts of the counters it moves within minutes.
func TestCountersHealthyAndFaulted(t *testing.T) {
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	pf := newPackFarm(t, start)
	for _, h := range pf.hosts {
		vs, _ := pf.f.Counters(h.Name, start, pf.want[h.Name])
		if len(vs) < 40 {
			t.Errorf("%s (%v) shows only %d counters of its plan", h.Name, h.Roles, len(vs))
		}
	}
	week := 7 * 24 * time.Hour
	if testing.Short() {
		week = 24 * time.Hour
	}
	pf.run(start, week, 67*time.Minute) // every hour of every day, at drifting minutes
	if got := pf.sent.list(); len(got) > 0 {
		t.Fatalf("a healthy farm raised counter alerts:\n%s", strings.Join(got, "\n"))
	}

	faultAt := start.Add(week).Add(10 * time.Hour) // a busy hour
	for _, tc := range []struct {
		fault string
		want  []string
	}{
		{FaultAsyncBacklog, []string{
			"crm.counter.async.workflow-operations-outstanding CRMASYNC01 warning",
			"crm.counter.async.workflow-operations-failed CRMASYNC01 critical"}},
		{FaultSlowQueries, []string{
			"crm.sql.lock-waits CRMSQL01 warning", "crm.sql.lock-wait-time CRMSQL01 warning",
			"crm.sql.page-life-expectancy CRMSQL01 warning", "crm.aspnet.request-execution-time CRMAPP01 warning"}},
		{FaultSQLTimeouts, []string{
			"crm.sql.attention-rate CRMSQL01 critical", "crm.sql.lock-wait-time CRMSQL01 critical",
			"crm.counter.server.failed-organization-service-requests CRMAPP01 critical"}},
		{FaultAuthFailures, []string{"crm.counter.authentication.claimsauthenticationfailuresinthelastminute CRMAPP01 critical"}},
		{FaultSandboxCrash, []string{"crm.counter.sandbox-host.percent-worker-processes-crashed CRMASYNC01 warning"}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			pf.sent.got = map[string]bool{}
			pf.f.faults.set(tc.fault, faultWindow{from: faultAt})
			defer pf.f.faults.clear(tc.fault)
			pf.run(faultAt, 4*time.Minute, 15*time.Second)
			got := pf.sent.list()
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s did not raise %q; raised:\n%s", tc.fault, w, strings.Join(got, "\n"))
				}
			}
			// The alerts must come from the fault, not from the SQL server
			// of other organizations.
			for _, g := range got {
				if strings.Contains(g, "CRMSQL02") {
					t.Errorf("%s moved CRMSQL02, whose organizations it does not touch: %s", tc.fault, g)
				}
			}
			pf.run(faultAt.Add(4*time.Minute), time.Hour, 5*time.Minute) // recover before the next fault
		})
		faultAt = faultAt.Add(2 * time.Hour)
	}
}

// TestCounterShapes: the load follows the working day and the week,
// capacity counters drift, values are deterministic per seed.
func TestCounterShapes(t *testing.T) {
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // Monday
	f, err := New(Options{Out: t.TempDir(), Hosts: 3, Seed: 5, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cpu := []event.CounterPath{{Object: "Processor", Instance: "_Total", Counter: "% Processor Time"}}
	disk := []event.CounterPath{{Object: "LogicalDisk", Instance: "C:", Counter: "% Free Space"}}
	at := func(p []event.CounterPath, when time.Time) float64 {
		vs, err := f.Counters("CRMAPP01", when, p)
		if err != nil || len(vs) != 1 {
			t.Fatalf("Counters: %v %v", vs, err)
		}
		return vs[0].Value
	}
	night, noon := at(cpu, start.Add(3*time.Hour)), at(cpu, start.Add(13*time.Hour))
	sunday := at(cpu, start.Add(6*24*time.Hour+13*time.Hour))
	if !(noon > 3*night && noon > 2*sunday) {
		t.Errorf("CPU night %.1f, weekday noon %.1f, Sunday noon %.1f: want a working-day peak", night, noon, sunday)
	}
	if first, later := at(disk, start), at(disk, start.Add(60*24*time.Hour)); !(later < first) {
		t.Errorf("free space %.2f → %.2f after 60 days: want the disk filling", first, later)
	}
	g, _ := New(Options{Out: t.TempDir(), Hosts: 3, Seed: 5, Start: start})
	defer g.Close()
	a, _ := f.Counters("CRMAPP01", start.Add(time.Hour), cpu)
	b, _ := g.Counters("CRMAPP01", start.Add(time.Hour), cpu)
	if a[0].Value != b[0].Value {
		t.Error("the same seed must give the same values")
	}
	// Wildcards expand to the host's instances; other roles' objects are
	// absent.
	all, _ := f.Counters("CRMAPP01", start, []event.CounterPath{{Object: "Process", Instance: "*", Counter: "Handle Count"},
		{Object: "CRM Async Service", Instance: "mscrmasyncservice", Counter: "Workflow Operations Outstanding"}})
	var names []string
	for _, v := range all {
		names = append(names, v.Path.Instance)
	}
	if !slices.Contains(names, "w3wp") || slices.Contains(names, "mscrmasyncservice") {
		t.Errorf("instances %v", names)
	}
	if _, err := f.Counters("NOPE", start, cpu); err == nil {
		t.Error("an unknown host must be an error")
	}
}
