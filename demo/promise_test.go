package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/secret"
)

// TestDemoPromise holds the demo to what the README promises a newcomer: on
// the default fault timing, an error alert of the foundation rule is visible
// through the API `crmwatch alerts list` uses within 15 s of the start, its
// repeat count keeps growing, and cancelling (Ctrl-C) stops every part.
func TestDemoPromise(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, Options{DataDir: dir, Listen: listen, NATSListen: freeAddr(t), Out: &out})
	}()

	cl := demoClient(t, dir, listen, done)
	deadline := start.Add(15 * time.Second)
	first := waitForSQLAlert(t, cl, deadline, func(api.Alert) bool { return true })
	if first.Severity != "error" || first.State != "new" || len(first.Hosts) == 0 || len(first.Organizations) == 0 {
		t.Fatalf("alert %+v: want severity error, state new, hosts and organizations", first)
	}
	// The fault keeps producing SQL errors: the same alert's count grows.
	waitForSQLAlert(t, cl, time.Now().Add(15*time.Second), func(a api.Alert) bool {
		return a.ID == first.ID && a.RepeatCount > first.RepeatCount
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop within 20s of cancel")
	}
}

// demoClient waits for the token file and the API, as a newcomer does.
func demoClient(t *testing.T, dir, listen string, done <-chan error) *client.Client {
	t.Helper()
	tokenPath := filepath.Join(dir, TokenFile)
	for end := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-done:
			t.Fatalf("demo ended before it was ready: %v", err)
		default:
		}
		if raw, err := os.ReadFile(tokenPath); err == nil {
			opts, err := client.Resolve("http://"+listen, secret.New(strings.TrimSpace(string(raw))))
			if err != nil {
				t.Fatal(err)
			}
			cl, err := client.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			return cl
		}
		if time.Now().After(end) {
			t.Fatalf("no token in %s after 30s", tokenPath)
		}
		time.Sleep(50 * time.Millisecond) // polling a file the demo writes
	}
}

// waitForSQLAlert polls alerts list until a crm.trace.sql-error alert
// satisfies ok, or fails at deadline.
func waitForSQLAlert(t *testing.T, cl *client.Client, deadline time.Time, ok func(api.Alert) bool) api.Alert {
	t.Helper()
	for {
		as, err := cl.Alerts(context.Background(), client.AlertsQuery{Rule: "crm.trace.sql-error"})
		if err == nil {
			for _, a := range as {
				if ok(a) {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching crm.trace.sql-error alert by the deadline (last error: %v, alerts: %+v)", err, as)
		}
		time.Sleep(200 * time.Millisecond) // polling the API with a deadline
	}
}
