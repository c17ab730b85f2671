package demo

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/api/client"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
	"crmwatch/tracing"
	"crmwatch/tracing/settings"
)

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.DataDirDSN(dir), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminToken(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	tok1, name1, err := adminToken(ctx, st, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TokenFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode())
	}
	tok2, name2, err := adminToken(ctx, st, dir, now)
	if err != nil || tok2.Reveal() != tok1.Reveal() || name2 != name1 {
		t.Fatalf("reused data dir: got %s/%v, want the saved token of %s", name2, err, name1)
	}
	// Token file lost, operator still there: a second admin is created.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tok3, name3, err := adminToken(ctx, st, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if name3 != "demo-admin-20261121T120000" || tok3.Reveal() == tok1.Reveal() {
		t.Errorf("after losing the token file: operator %s", name3)
	}
	if op, err := st.OperatorByTokenHash(ctx, tok3.Hash()); err != nil || op.Role != string(access.RoleAdmin) {
		t.Errorf("new token: %+v, %v", op, err)
	}
	// Revoked operator: the saved token no longer works, a new one is made.
	if err := access.RevokeOperator(ctx, st, name3, "test"); err != nil {
		t.Fatal(err)
	}
	if _, name4, err := adminToken(ctx, st, dir, now.Add(time.Second)); err != nil || name4 == name3 {
		t.Errorf("after revocation: %s, %v", name4, err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunTwice runs the demo on a fresh and then on the reused data dir.
func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	for i := range 2 {
		var out bytes.Buffer
		err := Run(context.Background(), Options{DataDir: dir, Listen: freeAddr(t), NATSListen: freeAddr(t), Backfill: -1,
			Duration: 2 * time.Second, FaultAfter: 500 * time.Millisecond, Out: &out})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		for _, want := range []string{"console:         http://127.0.0.1:", "API:             http://127.0.0.1:", "token:           crmw_", "CRMAPP01", "crmwatch alerts list"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d output lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
	st := openStore(t, dir)
	ops, err := st.Operators(context.Background())
	if err != nil || len(ops) != 1 {
		t.Errorf("operators after two runs: %+v, %v (the saved token should be reused)", ops, err)
	}
}

// TestDemoWiresTraceControl: in the demo, `trace set` reaches a simulated
// host's agent and the host really traces differently (a new file whose
// header shows the categories).
func TestDemoWiresTraceControl(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	dir, listen := t.TempDir(), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- Run(ctx, Options{DataDir: dir, Listen: listen, NATSListen: freeAddr(t), Fault: "none", Duration: time.Minute, Backfill: -1, Out: &syncWriter{w: &out}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	var c *client.Client
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, err := os.ReadFile(filepath.Join(dir, TokenFile))
		if err != nil {
			continue
		}
		tok, err := access.ParseToken(strings.TrimSpace(string(data)))
		if err != nil {
			continue
		}
		c, _ = client.New(client.Options{URL: "http://" + listen, Token: tok})
		if st, err := c.TraceStatus(context.Background()); err == nil && len(st.Agents) == DefaultHosts {
			break
		}
	}
	// The status may list the hosts a moment before CRMAPP01's registration
	// names it a target: set again until the setting reaches an agent.
	var resp settings.ChangeResponse
	for {
		var err error
		resp, err = c.TraceSet(context.Background(), settings.Request{Target: settings.Target{Scope: settings.ScopeHost, Name: "CRMAPP01"}, Categories: "Platform.*:Info"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Agents) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	outs, err := c.TraceWait(wctx, resp.Agents, client.TraceWaitOptions{})
	if err != nil || len(outs) != 1 || outs[0].Result != settings.ResultApplied {
		t.Fatalf("trace set in the demo: %+v %v", outs, err)
	}
	traceDir := filepath.Join(farmDir(Options{DataDir: dir}), "CRMAPP01", "Trace")
	for ; ; time.Sleep(100 * time.Millisecond) {
		if headerIn(t, traceDir, "Platform.*:Info") {
			break
		}
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatal("no trace file of CRMAPP01 shows the new categories")
		}
	}
}

func headerIn(t *testing.T, dir, categories string) bool {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && tracing.ParseHeader(data).Categories == categories {
			return true
		}
	}
	return false
}

// syncWriter lets the demo print while the test reads nothing of it.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
