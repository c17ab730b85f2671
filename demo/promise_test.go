package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/secret"
)

// TestDemoPromise holds the demo to what the README promises a newcomer: on
// the default fault timing, an error alert of the foundation rule is visible
// through the API `crmwatch alerts list` uses within 15 s of the start, its
// repeat count keeps growing, a counter threshold alert (SQL attentions on
// the SQL server of the faulted organizations) follows within 30 s of the
// start, and cancelling (Ctrl-C) stops every part.
func TestDemoPromise(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var buf syncBuffer
	out := buf.String
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, Options{DataDir: dir, Listen: listen, NATSListen: freeAddr(t), Out: &buf})
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
	// The simulated SQL server's counters cross the PAL threshold.
	counter := waitForAlert(t, cl, "crm.sql.attention-rate", start.Add(30*time.Second), func(a api.Alert) bool {
		return a.Severity == "critical" && slices.Contains(a.Hosts, "CRMSQL01")
	})
	if !strings.Contains(counter.Summary, "CRMSQL01") {
		t.Errorf("counter alert summary %q does not name the host", counter.Summary)
	}
	if !strings.Contains(out(), "CRMSQL01") || !strings.Contains(out(), "/metrics") {
		t.Errorf("the welcome does not list the SQL server and the agents' /metrics:\n%s", out())
	}

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
	return waitForAlert(t, cl, "crm.trace.sql-error", deadline, ok)
}

// waitForAlert polls alerts list until an alert of rule satisfies ok, or
// fails at deadline.
func waitForAlert(t *testing.T, cl *client.Client, rule string, deadline time.Time, ok func(api.Alert) bool) api.Alert {
	t.Helper()
	for {
		as, err := cl.Alerts(context.Background(), client.AlertsQuery{Rule: rule})
		if err == nil {
			for _, a := range as {
				if ok(a) {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching %s alert by the deadline (last error: %v, alerts: %+v)", rule, err, as)
		}
		time.Sleep(200 * time.Millisecond) // polling the API with a deadline
	}
}

// syncBuffer is a bytes.Buffer the demo writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
