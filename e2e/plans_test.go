package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/agent"
	"crmwatch/api"
	"crmwatch/collectors"
	"crmwatch/collectors/perfcounters"
	"crmwatch/event"
	"crmwatch/server"
)

// fixedSource is a host whose counters hold fixed values.
type fixedSource map[string]float64 // path → value

func (f fixedSource) Read(_ context.Context, want []event.CounterPath) ([]perfcounters.Reading, error) {
	var out []perfcounters.Reading
	for _, w := range want {
		if v, ok := f[w.String()]; ok {
			out = append(out, perfcounters.Reading{Path: w, Value: v})
		}
	}
	return out, nil
}

func (fixedSource) Close() error { return nil }

// extraPack writes a pack whose version-th edition collects the given
// counters on AppServer hosts; its rules watch both counters from the
// start.
func extraPack(t *testing.T, dir, version string, counters ...string) {
	t.Helper()
	quoted := make([]string, len(counters))
	for i, c := range counters {
		quoted[i] = "'" + c + "'"
	}
	files := map[string]string{
		"pack.yaml": fmt.Sprintf(`format: crmwatch.pack/v1
name: extra
version: %s
description: A customer pack that grows.
roles: [AppServer]
collect:
  - roles: [AppServer]
    counters: [{paths: [%s], interval: 1s}]
`, version, strings.Join(quoted, ", ")),
		"rules/extra.yaml": `rules:
  - id: extra.queue
    kind: threshold
    summary: "{{.Host}}: queue {{.Value}}"
    knowledge: {cause: The queue grows., resolution: Drain it.}
    threshold: {counter: '\Extra Queue\Length', warning: 10}
  - id: extra.errors
    kind: threshold
    summary: "{{.Host}}: {{.Value}} errors"
    knowledge: {cause: Errors., resolution: Fix them.}
    threshold: {counter: '\Extra Queue\Errors', warning: 10}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPackReloadReachesRunningAgent: the server publishes what the packs
// ask each role to collect; a running agent applies it, and after a pack
// gains a counter and an operator reloads the packs (POST
// /api/v1/packs/reload) the same agent process collects the new counter
// and its rule fires — no agent restart.
func TestPackReloadReachesRunningAgent(t *testing.T) {
	packDir := filepath.Join(t.TempDir(), "extra")
	extraPack(t, packDir, "1.0.0", `\Extra Queue\Length`)
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", PackDirs: []string{packDir}, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	defer sp.stop()
	token := adminToken(t, sp.srv)

	src := fixedSource{`\Extra Queue\Length`: 42, `\Extra Queue\Errors`: 99}
	a, err := agent.New(agent.Options{
		NATS: sp.srv.NATSURL(), Name: "CRMAPP07", Roles: []string{"AppServer"}, StateDir: t.TempDir(),
		HeartbeatEvery: 500 * time.Millisecond,
		Factories:      []collectors.Factory{perfcounters.NewFactory(perfcounters.WithSource(func() (perfcounters.Source, error) { return src, nil }))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Collectors(); len(got) != 0 {
		t.Fatalf("collectors before any plan = %v; the packs enable perfcounters", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()

	alertsOf := func(rule string) []api.Alert {
		var r api.AlertsResponse
		getJSON(t, sp.srv, token, "/api/v1/alerts?"+url.Values{"rule": {rule}}.Encode(), &r)
		return r.Alerts
	}
	eventually(t, 20*time.Second, "the extra.queue alert from the counter pack 1.0.0 collects", func() bool { return len(alertsOf("extra.queue")) == 1 })
	var reg api.AgentsResponse
	getJSON(t, sp.srv, token, "/api/v1/agents", &reg)
	if len(reg.Agents) != 1 || !slices.Contains(reg.Agents[0].Packs, "extra 1.0.0") {
		t.Fatalf("registration = %+v, want the agent applying extra 1.0.0", reg.Agents)
	}
	if got := reg.Agents[0].RoleFindings; !slices.Equal(got, []api.RoleFinding{{Role: "AppServer", How: "configured (--roles)"}}) {
		t.Errorf("GET /api/v1/agents role_findings = %+v, want how the role was found", got)
	}
	started := reg.Agents[0]
	// The rule on Errors is loaded, but no pack asks for the counter yet.
	time.Sleep(2 * time.Second)
	if n := len(alertsOf("extra.errors")); n != 0 {
		t.Fatalf("extra.errors has %d alerts before its counter is collected", n)
	}

	extraPack(t, packDir, "1.1.0", `\Extra Queue\Length`, `\Extra Queue\Errors`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+sp.srv.HTTPAddr()+server.ReloadPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %s", resp.Status)
	}
	eventually(t, 20*time.Second, "extra.errors to fire from the newly collected counter", func() bool { return len(alertsOf("extra.errors")) == 1 })
	select {
	case err := <-done:
		t.Fatalf("the agent stopped: %v", err)
	default:
	}
	eventually(t, 10*time.Second, "the registration to show extra 1.1.0", func() bool {
		getJSON(t, sp.srv, token, "/api/v1/agents", &reg)
		return len(reg.Agents) == 1 && slices.Contains(reg.Agents[0].Packs, "extra 1.1.0")
	})
	if !reg.Agents[0].LastHeartbeat.After(started.LastHeartbeat) {
		t.Error("no heartbeat since the reload")
	}
}
