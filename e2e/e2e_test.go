package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/simulate"
	"crmwatch/transport"
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
// (nats-server 2.9 at 127.0.0.1:4222), the way a farm with its own NATS
// cluster runs, with a unique stream and bucket prefix removed afterwards.
func TestExternalNATS(t *testing.T) {
	const url = "nats://127.0.0.1:4222"
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but no NATS answers at %s: %v", url, err)
		}
		t.Skipf("no NATS at %s (%v); start nats-server -js to run this test", url, err)
	} else {
		c.Close()
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "e2e-" + hex.EncodeToString(b)
	t.Cleanup(func() { teardown(t, url, prefix) })

	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATS: secret.MustURL(url), Prefix: prefix})
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

func teardown(t *testing.T, url, prefix string) {
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{url}, WaitFirst: true})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := transport.Teardown(ctx, js, names); err != nil {
		t.Errorf("cleanup of %s streams and buckets: %v", prefix, err)
	}
}
