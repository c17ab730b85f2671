package demo

import (
	"bytes"
	"context"
	"log/slog"
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
// repeat count keeps growing, organizations carry their names, the fault's
// alerts are grouped under at most 3 top-level alerts, a counter threshold
// alert (SQL attentions on the SQL server of the faulted organizations)
// follows within 30 s of the start, the fault's event-log entries raise
// their event-log alert, and cancelling (Ctrl-C) stops every part without
// a warning.
func TestDemoPromise(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, Options{DataDir: dir, Listen: listen, NATSListen: freeAddr(t), Out: &out, Backfill: -1,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	}()

	cl := demoClient(t, dir, listen, done)
	deadline := start.Add(15 * time.Second)
	first := waitForSQLAlert(t, cl, deadline, func(api.Alert) bool { return true })
	if first.Severity != "error" || first.State != "new" || len(first.Hosts) == 0 || len(first.Organizations) == 0 {
		t.Fatalf("alert %+v: want severity error, state new, hosts and organizations", first)
	}
	// The fault keeps producing SQL errors: an alert's count grows (the
	// fault's organizations do not all fail equally often, so any of them).
	seen := map[string]int{}
	waitForSQLAlert(t, cl, time.Now().Add(15*time.Second), func(a api.Alert) bool {
		prev, ok := seen[a.ID]
		seen[a.ID] = a.RepeatCount
		return ok && a.RepeatCount > prev
	})
	if len(first.OrganizationNames) != len(first.Organizations) || first.OrganizationNames[0] == "" {
		t.Errorf("organization names not shown beside %v: %v", first.Organizations, first.OrganizationNames)
	}
	checkFaultGrouped(t, cl)
	// The simulated SQL server's counters cross the PAL threshold.
	counter := waitForAlert(t, cl, "crm.sql.attention-rate", start.Add(30*time.Second), func(a api.Alert) bool {
		return a.Severity == "critical" && slices.Contains(a.Hosts, "CRMSQL01")
	})
	if !strings.Contains(counter.Summary, "CRMSQL01") {
		t.Errorf("counter alert summary %q does not name the host", counter.Summary)
	}
	// The fault's CRM event-log entries (simulated as wevtutil XML, imported
	// from each agent's drop folder) raise the pack's event-log alerts too.
	el := waitForAlert(t, cl, "crm.eventlog.platform-async-maintenance-failed", time.Now().Add(30*time.Second), func(a api.Alert) bool {
		return a.Severity == "error" && len(a.Hosts) > 0 && len(a.Organizations) > 0
	})
	if !strings.Contains(el.Summary, "RecurringSeriesExpansionOperation failed") {
		t.Errorf("event-log alert summary %q", el.Summary)
	}
	if !strings.Contains(out.String(), "CRMSQL01") || !strings.Contains(out.String(), "/metrics") {
		t.Errorf("the welcome does not list the SQL server and the agents' /metrics:\n%s", out.String())
	}

	before := len(logs.String())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop within 20s of cancel")
	}
	for line := range strings.Lines(logs.String()[before:]) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "context canceled") {
			t.Errorf("a clean stop logged: %s", line)
		}
	}
}

// checkFaultGrouped waits until the sql-timeouts fault's alerts — every
// open alert touching an organization that has SQL error alerts — stand
// under at most 3 top-level alerts, with the rest grouped beneath them.
func checkFaultGrouped(t *testing.T, cl *client.Client) {
	t.Helper()
	var top, grouped int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		page, err := cl.Alerts(context.Background(), client.AlertsQuery{States: []string{"open"}})
		if err != nil {
			t.Fatal(err)
		}
		faultOrgs := map[string]bool{}
		for _, a := range page.Alerts {
			if a.Rule == "crm.trace.sql-error" {
				for _, o := range a.Organizations {
					faultOrgs[o] = true
				}
			}
		}
		top, grouped = 0, 0
		for _, a := range page.Alerts {
			if !slices.ContainsFunc(a.Organizations, func(o string) bool { return faultOrgs[o] }) {
				continue
			}
			if a.ParentID == "" {
				top++
			} else {
				grouped++
			}
		}
		if len(faultOrgs) > 0 && top <= 3 && grouped >= 3 {
			t.Logf("sql-timeouts fault: %d top-level alerts, %d grouped under them", top, grouped)
			return
		}
	}
	t.Fatalf("sql-timeouts fault: %d top-level alerts and %d grouped; want at most 3 top-level and the rest grouped", top, grouped)
}

// syncBuffer is a bytes.Buffer safe for the demo's goroutines.
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
		page, err := cl.Alerts(context.Background(), client.AlertsQuery{Rule: rule})
		as := page.Alerts
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
