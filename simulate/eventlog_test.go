package simulate

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/collectors/eventlog"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/rules"
)

// TestFaultEventLogEntries: with the SQL, slow-query and sandbox faults the
// farm writes event-log XML files that the agent's decoder reads, and the
// built-in pack raises their event-log alerts; without faults it writes
// none.
func TestFaultEventLogEntries(t *testing.T) {
	out := t.TempDir()
	f, err := New(Options{Out: out, Hosts: 3, Seed: 7, Faults: []string{FaultSQLTimeouts, FaultSlowQueries, FaultSandboxCrash}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Generate(3000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	hosts := map[string][]string{}
	for _, h := range f.Hosts() {
		hosts[h.Name] = event.RoleStrings(h.Roles)
		files, _ := filepath.Glob(filepath.Join(h.EventLogDir, "*.xml"))
		for _, p := range files {
			if _, err := eventlog.ReadFile(p, func(r eventlog.Record) error {
				if r.Computer != h.Name || r.Channel != "Application" || r.RecordID == 0 {
					t.Errorf("%s: record %+v", p, r)
				}
				evs = append(evs, r.Event(""))
				return nil
			}); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
	}
	if len(evs) == 0 {
		t.Fatal("no event-log entries written")
	}
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	raised := map[string]bool{}
	eng := rules.NewEngine(rules.Options{Logger: slog.New(slog.DiscardHandler), Sender: alerts.SenderFunc(func(_ context.Context, cs []alerts.Change) error {
		for _, c := range cs {
			raised[c.Alert.Rule] = true
		}
		return nil
	})})
	if err := eng.Load(rs); err != nil {
		t.Fatal(err)
	}
	for h, roles := range hosts {
		if err := eng.Heartbeat(context.Background(), h, roles, evs[0].Time.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.ProcessEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"crm.eventlog.platform-slow-query", "crm.eventlog.platform-async-maintenance-failed", "crm.eventlog.sandboxclient-error"} {
		if !raised[want] {
			t.Errorf("%s not raised by the faults' event-log entries (raised: %v)", want, raised)
		}
	}

	quiet := t.TempDir()
	g, err := New(Options{Out: quiet, Hosts: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Generate(500); err != nil {
		t.Fatal(err)
	}
	g.Close()
	for _, h := range g.Hosts() {
		if ents, err := os.ReadDir(h.EventLogDir); err == nil && len(ents) > 0 {
			t.Errorf("%s: event-log files without a fault", h.Name)
		}
	}
}
