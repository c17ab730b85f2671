package e2e

import (
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/simulate"
	"crmwatch/transport/natstest"
)

// TestSQLTimeoutsRaiseOneConsolidatedAlert is the product's promise in one
// test: a fault on the farm becomes an error alert with hosts, organizations
// and a growing repeat count; the alert survives a server restart (agents
// keep running and retrying meanwhile) and new repeats bump the same alert.
func TestSQLTimeoutsRaiseOneConsolidatedAlert(t *testing.T) {
	dir := t.TempDir()
	opts := server.Options{DataDir: dir, NATSListen: freeAddr(t), NATSSyncInterval: 100 * time.Millisecond}
	sp := startServer(t, opts)
	token := adminToken(t, sp.srv)
	fp := startFarm(t, 3, sp.srv.NATSURL().Reveal(), "")
	defer fp.stop()

	eventually(t, 15*time.Second, "3 agents registered", func() bool {
		var r api.AgentsResponse
		getJSON(t, sp.srv, token, "/api/v1/agents", &r)
		return len(r.Agents) == 3
	})
	if err := fp.farm.Inject(simulate.FaultSQLTimeouts, 0); err != nil {
		t.Fatal(err)
	}

	var first api.Alert
	eventually(t, 15*time.Second, "a crm.trace.sql-error alert", func() bool {
		as := sqlErrorAlerts(t, sp.srv, token)
		if len(as) == 0 {
			return false
		}
		first = as[0]
		return true
	})
	if first.Severity != alerts.SeverityError || first.State != alerts.StateNew {
		t.Errorf("alert %s: severity %s state %s, want error and new", first.ID, first.Severity, first.State)
	}
	if len(first.Hosts) == 0 || len(first.Organizations) == 0 {
		t.Errorf("alert %s: hosts %v organizations %v, want both set", first.ID, first.Hosts, first.Organizations)
	}
	eventually(t, 20*time.Second, "the repeat count to grow", func() bool {
		a, ok := find(sqlErrorAlerts(t, sp.srv, token), first.ID)
		return ok && a.RepeatCount > first.RepeatCount
	})
	before, _ := find(sqlErrorAlerts(t, sp.srv, token), first.ID)
	sp.stop()

	sp = startServer(t, opts)
	defer sp.stop()
	after, ok := find(sqlErrorAlerts(t, sp.srv, token), first.ID)
	if !ok || after.RepeatCount < before.RepeatCount || after.State != alerts.StateNew {
		t.Fatalf("after restart: alert %s = %+v (found %v), want it open with ≥ %d repeats", first.ID, after, ok, before.RepeatCount)
	}
	eventually(t, 20*time.Second, "new repeats on the same alert after the restart", func() bool {
		a, ok := find(sqlErrorAlerts(t, sp.srv, token), first.ID)
		return ok && a.RepeatCount > after.RepeatCount
	})
	// Consolidation survived: one open alert per host and organization.
	seen := map[string]string{}
	for _, a := range sqlErrorAlerts(t, sp.srv, token) {
		if !a.State.Open() {
			continue
		}
		if other, dup := seen[key(a)]; dup {
			t.Errorf("alerts %s and %s are both open for %s", other, a.ID, key(a))
		}
		seen[key(a)] = a.ID
	}
}

// TestExternalNATS runs the same path through the machine's own NATS
// (127.0.0.1:4222), the way a farm with its own NATS cluster runs, under a
// unique stream and bucket prefix removed afterwards.
func TestExternalNATS(t *testing.T) {
	url, prefix := natstest.Prefix(t, "e2e")
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATS: secret.MustURL(url), Prefix: prefix, StreamMaxBytes: natstest.StreamMaxBytes})
	defer sp.stop()
	token := adminToken(t, sp.srv)
	fp := startFarm(t, 2, url, prefix, simulate.FaultSQLTimeouts)
	defer fp.stop()

	var first api.Alert
	eventually(t, 20*time.Second, "a crm.trace.sql-error alert via the external NATS", func() bool {
		as := sqlErrorAlerts(t, sp.srv, token)
		if len(as) > 0 {
			first = as[0]
		}
		return len(as) > 0
	})
	eventually(t, 20*time.Second, "the repeat count to grow", func() bool {
		a, ok := find(sqlErrorAlerts(t, sp.srv, token), first.ID)
		return ok && a.RepeatCount > first.RepeatCount
	})
}
