package dashboards_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/collectors"
	"crmwatch/collectors/perfcounters"
	"crmwatch/collectors/snmptrap"
	"crmwatch/collectors/tracefiles"
	"crmwatch/dashboards"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/server"
	"crmwatch/simulate"
)

// fixedSource is a host whose performance counters hold fixed values.
type fixedSource map[string]float64

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

// liveFamilies starts a real server (embedded NATS, SQLite) and a real
// agent with the trace-file and performance-counter collectors, scrapes
// both /metrics (the server's with an operator token, as Prometheus does)
// and returns the metric family names each exposes.
func liveFamilies(t *testing.T) (agentFams, serverFams map[string]bool) {
	agentFams, serverFams, _ = liveStack(t)
	return agentFams, serverFams
}

// liveStack is liveFamilies and the running server.
func liveStack(t *testing.T) (agentFams, serverFams map[string]bool, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, stop, err := server.Start(ctx, server.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		NATSSyncInterval: 100 * time.Millisecond, TickEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	})
	tok, err := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "prometheus", Role: access.RoleReadonly, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// A simulated CRM host with SQL timeouts in its traces: the server
	// raises alerts naming organizations.
	farm, err := simulate.New(simulate.Options{Out: t.TempDir(), Hosts: 1, Seed: 7, Rate: 50, Faults: []string{simulate.FaultSQLTimeouts}})
	if err != nil {
		t.Fatal(err)
	}
	h := farm.Hosts()[0]
	a, err := agent.New(agent.Options{
		NATS: srv.NATSURL(), Name: h.Name, Roles: event.RoleStrings(h.Roles), StateDir: filepath.Join(t.TempDir(), "state"),
		MetricsListen: "127.0.0.1:0", HeartbeatEvery: 200 * time.Millisecond, Set: append(agent.TraceDirOverrides(h.TraceDir),
			agent.Override{Key: "collectors.perfcounters.interval", Value: "1s", Flag: "test"},
			agent.Override{Key: "collectors.snmptrap.listen", Value: freeUDP(t), Flag: "test"},
			agent.Override{Key: "collectors.snmptrap.communities", Value: []any{"dashboards-test"}, Flag: "test"},
			agent.Override{Key: "collectors.perfcounters.counters", Value: []any{map[string]any{"paths": []any{`\Processor(_Total)\% Processor Time`}}}, Flag: "test"}),
		Factories: []collectors.Factory{tracefiles.NewFactory(), snmptrap.NewFactory(),
			perfcounters.NewFactory(perfcounters.WithSource(func() (perfcounters.Source, error) {
				return fixedSource{`\Processor(_Total)\% Processor Time`: 42}, nil
			}))},
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	farmDone := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	go func() { farmDone <- farm.Run(actx) }()
	t.Cleanup(func() {
		acancel()
		if err := <-done; err != nil {
			t.Errorf("agent stopped with: %v", err)
		}
		if err := <-farmDone; err != nil {
			t.Errorf("farm stopped with: %v", err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if a.MetricsAddr() != "" {
			agentFams = families(t, "http://"+a.MetricsAddr()+"/metrics", "")
			serverFams = families(t, "http://"+srv.HTTPAddr()+"/metrics", tok.Reveal())
			if agentFams[packs.CounterMetric] && serverFams["crmwatch_alerts_open_organization"] {
				page := scrapeText(t, "http://"+srv.HTTPAddr()+"/metrics", tok.Reveal())
				// Every severity and state is present, 0 when none.
				for _, want := range []string{`crmwatch_alerts_open{severity="info",state="acknowledged"} 0`, `crmwatch_alerts_open_organization{organization="`} {
					if !strings.Contains(page, want) {
						t.Errorf("server /metrics lacks %s", want)
					}
				}
				return agentFams, serverFams, srv
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no counter series on the agent or no server metrics after 60s: agent %v", slices.Sorted(mapsKeys(agentFams)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeUDP reserves a loopback UDP port for the trap receiver.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// families scrapes url and returns its metric family names.
func families(t *testing.T, url, token string) map[string]bool {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(scrapeText(t, url, token)))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	out := map[string]bool{}
	for name := range fams {
		out[name] = true
	}
	return out
}

// scrapeText GETs url (with the operator token if given).
func scrapeText(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return string(body)
}

// TestQueriesUseLiveMetrics checks every metric name of every query of
// the built-in pack's dashboards against the /metrics of a live agent and
// server, and the catalogue dashboards.Exposed against them too (each name
// is on the side it claims).
func TestQueriesUseLiveMetrics(t *testing.T) {
	agentFams, serverFams := liveFamilies(t)
	t.Logf("agent: %v", slices.Sorted(mapsKeys(agentFams)))
	t.Logf("server: %v", slices.Sorted(mapsKeys(serverFams)))
	live := func(name string) bool {
		for _, fams := range []map[string]bool{agentFams, serverFams} {
			if fams[name] {
				return true
			}
			// histograms and summaries: the family of name_bucket/_sum/_count
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suf); ok && fams[base] {
					return true
				}
			}
		}
		return false
	}
	ds := builtin(t)
	n := 0
	for _, d := range ds {
		for _, p := range d.Panels {
			for _, q := range p.Queries {
				for _, m := range q.Metrics {
					n++
					if !live(m) {
						t.Errorf("dashboard %s panel %s: %s is on neither the live agent's nor the server's /metrics (query %s)", d.ID, p.Key, m, q.Expr)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d metric uses in the built-in dashboards", n)
	}
	for name, side := range dashboards.Exposed {
		fams := map[string]map[string]bool{"agent": agentFams, "server": serverFams}[side.Process]
		ok := fams[name]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, cut := strings.CutSuffix(name, suf); cut && fams[base] {
				ok = true
			}
		}
		if !ok {
			t.Errorf("dashboards.Exposed says the %s exposes %s; its live /metrics does not", side.Process, name)
		}
	}
}

// TestNoPathForNonOperators tries the paths by which a non-operator could
// see what the dashboards show and asserts each is refused: the server's
// /metrics and API without a token, with a made-up token and with the
// token of a revoked operator. (Export: dashboards/grafana's
// TestExportCarriesOperatorsOnly; the agent's /metrics is for the
// operators' Prometheus on the farm network, docs/dashboards.md.)
func TestNoPathForNonOperators(t *testing.T) {
	_, _, srv := liveStack(t)
	ctx := context.Background()
	tok, err := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "leaver", Role: access.RoleReadonly, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := access.RevokeOperator(ctx, srv.Store(), "leaver", "test"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/metrics", "/api/v1/alerts", "/api/v1/agents"} {
		for who, token := range map[string]string{"no token": "", "made-up token": "cw_notatoken", "revoked operator": tok.Reveal()} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with %s: %s, want 401", path, who, resp.Status)
			}
			if strings.Contains(string(body), "crmwatch_alerts_open") {
				t.Errorf("GET %s with %s leaks metrics", path, who)
			}
		}
	}
}
