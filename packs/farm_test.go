package packs_test

import (
	"context"
	"fmt"
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

const farmOverrides = "testdata/farm/overrides.yaml"

// loadFarm loads the built-in pack and the farm overrides.
func loadFarm(t testing.TB) (*packs.Pack, []*packs.Overrides) {
	t.Helper()
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	ovs, err := packs.LoadOverridesFiles([]string{farmOverrides}, []*packs.Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	return p, ovs
}

// collector is a Sender keeping the alerts raised or changed, by alert.
type collector struct {
	mu      sync.Mutex
	changes []alerts.Change
}

func (c *collector) Send(_ context.Context, cs []alerts.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, cs...)
	return nil
}

// summary lists the changes as "kind rule key severity xN", the variant
// field and alert ids (which differ between variants) left out.
func (c *collector) summary() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ch := range c.changes {
		out = append(out, fmt.Sprintf("%s %s %s %s x%d", ch.Kind, ch.Alert.Rule, ch.Alert.Key, ch.Alert.Severity, ch.Alert.RepeatCount))
	}
	return out
}

func newFarmEngine(t testing.TB, rs []rules.Rule) (*rules.Engine, *collector) {
	t.Helper()
	c := &collector{}
	e := rules.NewEngine(rules.Options{Sender: c, Logger: slog.New(slog.DiscardHandler)})
	if err := e.Load(rs); err != nil {
		t.Fatal(err)
	}
	return e, c
}

var farmT0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

const (
	cpuCounter   = `\Processor(_Total)\% Processor Time`
	queueCounter = `\System\Processor Queue Length`
	memCounter   = `\Memory\Available MBytes`
)

// The built-in pack with a host override (CPU thresholds), a role
// override (a rule disabled), group and host parameters (cpu_count) and
// a role parameter (ram_mb), run through the real engine: each host gets
// what Effective says for it.
func TestFarmRulesThroughEngine(t *testing.T) {
	p, ovs := loadFarm(t)
	rs, err := packs.FarmRules(p, ovs)
	if err != nil {
		t.Fatal(err)
	}
	e, c := newFarmEngine(t, rs)
	ctx := context.Background()
	for host, roles := range map[string][]string{
		"CRMAPP01": {"AppServer"}, "CRMAPP02": {"AppServer"}, "CRMAPP07": {"AppServer"}, "CRMAPP08": {"AppServer"},
		"CRMASYNC01": {"AsyncService"}, "CRMSQL01": {"SqlServer"},
	} {
		if err := e.Heartbeat(ctx, host, roles, farmT0); err != nil {
			t.Fatal(err)
		}
	}
	at := farmT0.Add(time.Minute)
	s := func(host, counter string, v float64) event.Sample {
		return event.Sample{Time: at, Host: host, Counter: counter, Value: v}
	}
	if err := e.ProcessSamples(ctx, []event.Sample{
		s("CRMAPP01", cpuCounter, 85),    // its own levels are 90/95: nothing
		s("CRMAPP02", cpuCounter, 85),    // pack levels 50/80: critical
		s("CRMAPP02", queueCounter, 20),  // cpu_count 4: warning > 8
		s("CRMAPP07", queueCounter, 20),  // group: cpu_count 16, warning > 32: nothing
		s("CRMAPP08", queueCounter, 70),  // host beats group: cpu_count 32, warning > 64
		s("CRMSQL01", memCounter, 3000),  // ram_mb 65536: critical < 3276.8
		s("CRMAPP02", memCounter, 3000),  // ram_mb 16384: warning < 1638.4: nothing
		s("CRMASYNC02", cpuCounter, 99)}, // roles unknown: the rules for every role still apply
	); err != nil {
		t.Fatal(err)
	}
	sqlErr := func(host, role string) event.Event {
		return event.Event{Time: at, Host: host, Role: role, Source: "trace", Level: event.LevelError,
			Category: "Platform.Sql", Organization: "Contoso", Message: "Timeout expired"}
	}
	if err := e.ProcessEvents(ctx, []event.Event{
		sqlErr("CRMAPP01", ""),
		sqlErr("CRMASYNC01", ""),                     // AsyncService by heartbeat: disabled
		sqlErr("CRMASYNC02", "AsyncService"),         // AsyncService known only from the event
		sqlErr("CRMAPP03", "AppServer"),              // AppServer known only from the event
		sqlErr("CRMMIX01", "AppServer,AsyncService"), // has AsyncService too: disabled
	}); err != nil {
		t.Fatal(err)
	}
	got := c.summary()
	sort.Strings(got)
	want := []string{
		// Untouched by the overrides: five hosts with SQL errors.
		"raised crm.correlation.sql-error-multi-host sql_error=Timeout expired critical x5",
		"raised crm.trace.sql-error host=CRMAPP01|organization=Contoso error x1",
		"raised crm.trace.sql-error host=CRMAPP03|organization=Contoso error x1",
		"raised crm.windows.available-mbytes host=CRMSQL01|instance= critical x1",
		"raised crm.windows.processor-queue-length host=CRMAPP02|instance= warning x1",
		"raised crm.windows.processor-queue-length host=CRMAPP08|instance= warning x1",
		"raised crm.windows.processor-time host=CRMAPP02|instance=_Total critical x1",
		"raised crm.windows.processor-time host=CRMASYNC02|instance=_Total critical x1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// FarmRules without targeted overrides is exactly the untargeted Effective.
func TestFarmRulesUntargeted(t *testing.T) {
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	farm, err := packs.FarmRules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	eff, err := packs.Effective(p, nil, packs.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if len(farm) != len(eff) {
		t.Fatalf("%d farm rules, %d effective", len(farm), len(eff))
	}
	for i := range farm {
		if farm[i].Scope != nil || farm[i].Variant != "" || farm[i].ID != eff[i].ID {
			t.Errorf("rule %s: scope %v variant %q", farm[i].ID, farm[i].Scope, farm[i].Variant)
		}
	}
}

// The variants FarmRules makes of the overridden rules.
func TestFarmRulesVariants(t *testing.T) {
	p, ovs := loadFarm(t)
	rs, err := packs.FarmRules(p, ovs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rs {
		if r.Scope == nil && r.Variant == "" {
			continue
		}
		got[r.ID] = append(got[r.ID], fmt.Sprintf("%q enabled=%v %+v", r.Variant, r.IsEnabled(), *r.Scope))
	}
	want := map[string][]string{
		"crm.windows.processor-time": {
			`"" enabled=true {Hosts:[] ExceptHosts:[CRMAPP01] AllRoles:[] ExceptRoles:[]}`,
			`"host=CRMAPP01" enabled=true {Hosts:[CRMAPP01] ExceptHosts:[] AllRoles:[] ExceptRoles:[]}`,
		},
		"crm.trace.sql-error": {
			`"" enabled=true {Hosts:[] ExceptHosts:[] AllRoles:[] ExceptRoles:[AsyncService]}`,
		},
		"crm.windows.processor-queue-length": {
			`"" enabled=true {Hosts:[] ExceptHosts:[CRMAPP07 CRMAPP08] AllRoles:[] ExceptRoles:[]}`,
			`"host=CRMAPP07" enabled=true {Hosts:[CRMAPP07] ExceptHosts:[] AllRoles:[] ExceptRoles:[]}`,
			`"host=CRMAPP08" enabled=true {Hosts:[CRMAPP08] ExceptHosts:[] AllRoles:[] ExceptRoles:[]}`,
		},
		"crm.windows.available-mbytes": {
			`"" enabled=true {Hosts:[] ExceptHosts:[] AllRoles:[] ExceptRoles:[SqlServer]}`,
			`"role=SqlServer" enabled=true {Hosts:[] ExceptHosts:[] AllRoles:[SqlServer] ExceptRoles:[]}`,
		},
	}
	for id, w := range want {
		g := strings.Join(got[id], "\n")
		if g != strings.Join(w, "\n") {
			t.Errorf("%s:\n got  %s\n want %s", id, g, strings.Join(w, "\n      "))
		}
	}
}

// TestFarmRulesMatchEffective is a property check: for every host and
// role combination below, the engine loaded with FarmRules raises exactly
// the alerts an engine loaded with Effective(host, roles) raises, for
// probes sweeping each threshold across every level of every variant and
// events matching each event rule. Roles reach the engine by heartbeat,
// or only through the observations' Role field.
func TestFarmRulesMatchEffective(t *testing.T) {
	p, ovs := loadFarm(t)
	farm, err := packs.FarmRules(p, ovs)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{"crm.trace.application-error": true} // a control no override touches
	for _, r := range farm {
		if r.Scope != nil {
			ids[r.ID] = true
		}
	}
	subset := func(rs []rules.Rule) []rules.Rule {
		return slices.DeleteFunc(slices.Clone(rs), func(r rules.Rule) bool { return !ids[r.ID] })
	}
	farmSub := subset(farm)
	probes := farmProbes(t, farmSub)
	hosts := []string{"CRMAPP01", "crmapp01", "CRMAPP07", "CRMAPP08", "CRMSQL01", "CRMOTHER"}
	roleSets := [][]string{nil, {"AppServer"}, {"AsyncService"}, {"SqlServer"}, {"AppServer", "AsyncService"}, {"SqlServer", "AsyncService"}}
	outcomes := map[string]bool{}
	for _, host := range hosts {
		for _, roles := range roleSets {
			eff, err := packs.Effective(p, ovs, packs.Target{Host: host, Roles: roles})
			if err != nil {
				t.Fatal(err)
			}
			for _, viaHeartbeat := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/heartbeat=%v", host, strings.Join(roles, "+"), viaHeartbeat)
				got := runProbes(t, farmSub, host, roles, viaHeartbeat, probes)
				want := runProbes(t, subset(eff), host, roles, viaHeartbeat, probes)
				outcomes[strings.Join(want, "\n")] = true
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n farm      %s\n effective %s", name, strings.Join(got, "\n           "), strings.Join(want, "\n           "))
				}
			}
		}
	}
	// The overrides must make a difference, or the check proves nothing.
	if len(outcomes) < 6 {
		t.Errorf("only %d distinct outcomes across hosts and roles", len(outcomes))
	}
}

// probe is one observation kind sent at every step: a counter sample
// sweep or a matching event.
type probe struct {
	counter string
	values  []float64
	ev      *event.Event
}

// farmProbes builds probes for the threshold and event rules of rs.
func farmProbes(t *testing.T, rs []rules.Rule) []probe {
	levels := map[string][]float64{}
	var out []probe
	for _, r := range rs {
		switch {
		case r.Threshold != nil:
			c := strings.Replace(r.Threshold.Counter, "(*)", "(_Total)", 1)
			for _, l := range []*float64{r.Threshold.Levels.Warning, r.Threshold.Levels.Error, r.Threshold.Levels.Critical} {
				if l != nil {
					levels[c] = append(levels[c], *l-0.5, *l+0.5)
				}
			}
		case r.Event != nil && r.Event.Message == "" && len(r.Event.Fields) == 0:
			m := r.Event
			ev := event.Event{Organization: "Contoso", Level: event.LevelError, Message: "probe"}
			if len(m.Sources) > 0 {
				ev.Source = m.Sources[0]
			}
			if len(m.Categories) > 0 {
				ev.Category = strings.TrimSuffix(strings.TrimSuffix(m.Categories[0], "*"), ".")
			}
			if len(m.EventIDs) > 0 {
				ev.EventID = m.EventIDs[0]
			}
			out = append(out, probe{ev: &ev})
		}
	}
	for _, c := range slices.Sorted(func(yield func(string) bool) {
		for k := range levels {
			if !yield(k) {
				return
			}
		}
	}) {
		vs := append([]float64{0}, levels[c]...)
		slices.Sort(vs)
		vs = slices.Compact(vs)
		down := slices.Clone(vs)
		slices.Reverse(down)
		out = append(out, probe{counter: c, values: append(vs, down...)})
	}
	if len(out) < 4 {
		t.Fatalf("only %d probes", len(out))
	}
	return out
}

// runProbes loads rs into a fresh engine and sends the probes from host.
func runProbes(t *testing.T, rs []rules.Rule, host string, roles []string, viaHeartbeat bool, probes []probe) []string {
	t.Helper()
	e, c := newFarmEngine(t, rs)
	ctx := context.Background()
	role := ""
	if viaHeartbeat {
		if err := e.Heartbeat(ctx, host, roles, farmT0); err != nil {
			t.Fatal(err)
		}
	} else {
		role = strings.Join(roles, ",")
	}
	for step := 1; step <= 40; step++ {
		at := farmT0.Add(time.Duration(step) * time.Minute)
		var ss []event.Sample
		var evs []event.Event
		for _, pr := range probes {
			switch {
			case pr.ev != nil && step == 1:
				ev := *pr.ev
				ev.Time, ev.Host, ev.Role = at, host, role
				evs = append(evs, ev)
			case pr.counter != "" && step <= len(pr.values):
				ss = append(ss, event.Sample{Time: at, Host: host, Role: role, Counter: pr.counter, Value: pr.values[step-1]})
			}
		}
		if err := e.ProcessEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := e.ProcessSamples(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	out := c.summary()
	sort.Strings(out)
	return out
}
