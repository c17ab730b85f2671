package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/run"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/api"
	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/simulate"
)

// serverProc is one run of the server.
type serverProc struct {
	srv  *server.Server
	stop func()
}

// startServer runs a server with opts until stop is called.
func startServer(t *testing.T, opts server.Options) *serverProc {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	opts.TickEvery = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, stop, err := server.Start(ctx, opts)
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	return &serverProc{srv: srv, stop: func() {
		if err := stop(); err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	}}
}

// farmProc is a simulated farm with one agent per host.
type farmProc struct {
	farm *simulate.Farm
	stop func()
}

// startFarm runs a farm of n hosts and their agents against natsURL.
func startFarm(t *testing.T, n int, natsURL, prefix string, faults ...string) *farmProc {
	t.Helper()
	farm, err := simulate.New(simulate.Options{Out: t.TempDir(), Hosts: n, Seed: 7, Rate: 50, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	var g run.Group
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error { <-ctx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error { return farm.Run(ctx) }, func(error) { cancel() })
	for _, h := range farm.Hosts() {
		a, err := agent.New(agent.Options{
			NATS: secret.MustURL(natsURL), Name: h.Name, Roles: event.RoleStrings(h.Roles), Set: agent.TraceDirOverrides(h.TraceDir),
			StateDir: filepath.Join(state, h.Name), HeartbeatEvery: time.Second, Prefix: prefix,
			Factories: []collectors.Factory{tracefiles.NewFactory()},
		})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		g.Add(func() error { return a.Run(ctx) }, func(error) { cancel() })
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	return &farmProc{farm: farm, stop: func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("farm or agent stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("farm and agents did not stop within 30s")
		}
	}}
}

// adminToken creates an operator in the running server's store.
func adminToken(t *testing.T, srv *server.Server) string {
	t.Helper()
	tok, err := access.CreateOperator(context.Background(), srv.Store(), access.NewOperator{Name: "e2e-admin", Role: access.RoleAdmin, By: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// getJSON GETs path from the API with the token and decodes the body.
func getJSON(t *testing.T, srv *server.Server, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func sqlErrorAlerts(t *testing.T, srv *server.Server, token string) []api.Alert {
	t.Helper()
	var r api.AlertsResponse
	getJSON(t, srv, token, "/api/v1/alerts?"+url.Values{"rule": {"crm.trace.sql-error"}, "limit": {"1000"}}.Encode(), &r)
	return r.Alerts
}

// eventually polls cond every 50ms until it holds or d passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr reserves a loopback port for a server that must keep its address
// across a restart (agents reconnect to it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func find(as []api.Alert, id string) (api.Alert, bool) {
	for _, a := range as {
		if a.ID == id {
			return a, true
		}
	}
	return api.Alert{}, false
}

func key(a api.Alert) string { return fmt.Sprint(a.Hosts, a.Organizations) }
