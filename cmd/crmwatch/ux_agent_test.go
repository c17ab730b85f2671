package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/server"
	"crmwatch/transport"
)

// testServer is a server running in-process with an admin token.
type testServer struct {
	srv   *server.Server
	logs  *syncBuffer
	token string
	url   string
}

func startTestServer(t *testing.T, opts server.Options) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	opts.Listen, opts.NATSListen, opts.TickEvery = "127.0.0.1:0", "127.0.0.1:0", 100*time.Millisecond
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, stop, err := server.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server: %v", err)
		}
	})
	tok, err := access.CreateOperator(context.Background(), srv.Store(), access.NewOperator{Name: "alice", Role: access.RoleAdmin, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{srv: srv, logs: logs, token: tok.Reveal(), url: "http://" + srv.HTTPAddr()}
}

// get calls the API with the admin token and returns the body.
func (s *testServer) get(t *testing.T, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (s *testServer) agent(t *testing.T, host string) (api.AgentInfo, bool) {
	t.Helper()
	var out api.AgentsResponse
	if err := json.Unmarshal([]byte(s.get(t, "/api/v1/agents")), &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Agents {
		if a.Host == host {
			return a, true
		}
	}
	return api.AgentInfo{}, false
}

func hasWarning(a api.AgentInfo, sub string) bool {
	for _, w := range a.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

var metricsAddrRE = regexp.MustCompile(`agent metrics listening" .*addr=(\S+)`)

// Issue 17 items 1, 2 and 11: an agent started without --roles and with a
// trace directory that does not exist says so loudly at start, in its
// registration (GET /api/v1/agents, crmwatch agents list) and on its
// /metrics; when the directory appears the agent says so and follows it,
// the rules for every role apply to its events, and the server counts and
// logs them as events of a host whose roles are unknown.
func TestAgentWithoutRolesAndMissingTraceDir(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	ts := startTestServer(t, server.Options{})
	traceDir := filepath.Join(t.TempDir(), "Trace")
	ag := runBackground("agent", "--nats", ts.srv.NATSURL().Reveal(), "--name", "NOROLES01", "--trace-dir", traceDir,
		"--state", t.TempDir(), "--heartbeat", "200ms", "--metrics-listen", "127.0.0.1:0")
	defer ag.stop(t)

	eventually(t, 20*time.Second, "registration with warnings", func() bool {
		a, ok := ts.agent(t, "NOROLES01")
		return ok && hasWarning(a, transport.WarningNoRoles) && hasWarning(a, "tracefiles: trace directory "+traceDir+" is missing")
	})
	logs := ag.err.String()
	for _, want := range []string{
		`level=WARN msg="this agent has no CRM roles: rules for particular roles (most of the built-in pack) cannot apply to this host's events; pass --roles, e.g. --roles AppServer,AsyncService"`,
		`level=WARN msg="trace directory not readable: nothing is collected from it until it is; check --trace-dir or dirs"`,
		"dir=" + traceDir + " status=missing",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs)
		}
	}
	if raw := ts.get(t, "/api/v1/agents"); !strings.Contains(raw, `"roles":[]`) || !strings.Contains(raw, `"status":"missing"`) {
		t.Errorf("GET /api/v1/agents: %s", raw)
	}
	m := metricsAddrRE.FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no metrics address in the agent log:\n%s", logs)
	}
	metrics := httpGet(t, "http://"+m[1]+"/metrics")
	if want := fmt.Sprintf(`crmwatch_tracefiles_dir_status{collector="tracefiles",dir=%q,status="missing"} 1`, traceDir); !strings.Contains(metrics, want) {
		t.Errorf("agent /metrics lacks %s", want)
	}

	list := runRoot(t, "agents", "list", "--url", ts.url, "--token", ts.token)
	if list.code != 0 || !regexp.MustCompile(`NOROLES01\s+up\s+\(none\)\s+dev\s+\S+\s+no roles: role-scoped rules cannot apply; pass --roles; tracefiles: trace directory `+regexp.QuoteMeta(traceDir)+` is missing`).MatchString(list.stdout) {
		t.Errorf("agents list (exit %d):\n%s%s", list.code, list.stdout, list.stderr)
	}
	js := runRoot(t, "agents", "list", "--json", "--url", ts.url, "--token", ts.token)
	var parsed api.AgentsResponse
	if js.code != 0 || json.Unmarshal([]byte(js.stdout), &parsed) != nil || len(parsed.Agents) != 1 || parsed.Agents[0].Roles == nil {
		t.Errorf("agents list --json (exit %d): %s", js.code, js.stdout)
	}

	// The directory appears with a trace file whose header names no role.
	if err := os.Mkdir(traceDir, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Format("2006-01-02 15:04:05.000")
	rec := "[" + now + "] Process: w3wp |Organization:9a1f3c52-6f0e-4a8e-9a53-3b2b6c1d7e01 |Thread: 12 |Category: Application |User: 00000000-0000-0000-0000-000000000000 |Level: Error |ReqId: 6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e2a11 | HttpApplication.RecordError\r\n>Request /main.aspx failed\r\n"
	trace := "# CRM Tracing Version 2.0\r\n# ComputerName: NOROLES01\r\n" + rec + rec
	if err := os.WriteFile(filepath.Join(traceDir, "NOROLES01-w3wp(1#1)-CRMWeb-20261129-1.log"), []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "agent follows the directory", func() bool {
		a, _ := ts.agent(t, "NOROLES01")
		return strings.Contains(ag.err.String(), "trace directory is readable now; following it") && !hasWarning(a, "trace directory")
	})
	eventually(t, 20*time.Second, "server counts the role-less events", func() bool {
		return strings.Contains(ts.get(t, "/metrics"), "crmwatch_rules_unknown_role_events_total 2")
	})
	if n := strings.Count(ts.logs.String(), "events from a host whose CRM roles are unknown"); n != 1 ||
		!strings.Contains(ts.logs.String(), `host=NOROLES01 reason="its agent announced no roles"`) {
		t.Errorf("server log: %d lines about unknown roles:\n%s", n, ts.logs.String())
	}
	alerts := runRoot(t, "alerts", "list", "--url", ts.url, "--token", ts.token, "--rule", "crm.trace.application-error")
	if alerts.code != 0 || !strings.Contains(alerts.stdout, "NOROLES01") {
		t.Errorf("a rule for every role did not apply to the host without roles (exit %d):\n%s%s", alerts.code, alerts.stdout, alerts.stderr)
	}
	if code := ag.stop(t); code != 0 {
		t.Errorf("agent exit status %d:\n%s", code, ag.err.String())
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// closedPort is a local TCP port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Issue 17 item 6: nothing listening at --nats is reported as such, with
// what to check, instead of "outbound buffer limit exceeded"; an http://
// URL is refused at start.
func TestAgentNATSAddressErrors(t *testing.T) {
	addr := closedPort(t)
	ag := runBackground("agent", "--nats", "nats://"+addr, "--name", "H", "--roles", "AppServer", "--trace-dir", t.TempDir(),
		"--state", t.TempDir(), "--heartbeat", "200ms")
	want := "connection refused at " + addr + ": is the crmwatch server running, and is this its --nats-listen address?"
	eventually(t, 15*time.Second, "the refused connection explained", func() bool {
		return strings.Contains(ag.err.String(), `msg="cannot connect to NATS; retrying every second" component=agent host=H problem="`+want+`"`) &&
			strings.Contains(ag.err.String(), `msg="heartbeat failed; retrying every interval" component=agent host=H err="not connected to NATS: `+want+`"`)
	})
	if code := ag.stop(t); code != 0 || strings.Contains(ag.err.String(), "outbound buffer") {
		t.Errorf("exit %d:\n%s", code, ag.err.String())
	}

	r := runRoot(t, "agent", "--nats", "http://127.0.0.1:9470", "--name", "H", "--trace-dir", t.TempDir(), "--state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, `crmwatch: agent: --nats "http://127.0.0.1:9470": scheme http:// is not nats:// or tls://; give the crmwatch server's NATS address (its --nats-listen, default nats://HOST:4247), not its HTTP API`) {
		t.Errorf("http URL: exit %d: %s", r.code, r.stderr)
	}
	r = runRoot(t, "agent", "--nats", "127.0.0.1:4247", "--name", "H", "--trace-dir", t.TempDir(), "--state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, `--nats "127.0.0.1:4247": no scheme; write nats://127.0.0.1:4247`) {
		t.Errorf("no scheme: exit %d: %s", r.code, r.stderr)
	}
}

// --roles none declares a host without CRM roles (the monitoring host in the
// demo): no warning in the log, in the registration or in agents list.
func TestAgentRolesNoneIsNotWarned(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	ts := startTestServer(t, server.Options{})
	ag := runBackground("agent", "--nats", ts.srv.NATSURL().Reveal(), "--name", "MONHOST01", "--roles", "none",
		"--state", t.TempDir(), "--heartbeat", "200ms", "--metrics-listen", "127.0.0.1:0")
	defer ag.stop(t)
	eventually(t, 20*time.Second, "registration", func() bool {
		_, ok := ts.agent(t, "MONHOST01")
		return ok
	})
	if a, _ := ts.agent(t, "MONHOST01"); hasWarning(a, transport.WarningNoRoles) {
		t.Errorf("warnings %v for a host declared --roles none", a.Warnings)
	}
	logs := ag.err.String()
	if strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "no CRM roles (--roles none)") {
		t.Errorf("agent log:\n%s", logs)
	}
	list := runRoot(t, "agents", "list", "--url", ts.url, "--token", ts.token)
	if list.code != 0 || strings.Contains(list.stdout, "no roles:") || !strings.Contains(list.stdout, "MONHOST01") {
		t.Errorf("agents list (exit %d):\n%s%s", list.code, list.stdout, list.stderr)
	}

	bad := runRoot(t, "agent", "--nats", ts.srv.NATSURL().Reveal(), "--name", "X", "--roles", "none,AppServer", "--state", t.TempDir())
	if bad.code == 0 || !strings.Contains(bad.stderr, "--roles none means this host has no CRM roles") {
		t.Errorf("--roles none,AppServer: exit %d, %s", bad.code, bad.stderr)
	}
}
