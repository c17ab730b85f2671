package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/api/client"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/simulate"
	"crmwatch/store"
	"crmwatch/tracing"
	"crmwatch/tracing/settings"
)

// traceFarm is a simulated farm whose hosts obey their agents' settings
// files, with one in-process agent per host that can be stopped and
// started on its own.
type traceFarm struct {
	farm      *simulate.Farm
	hosts     map[string]simulate.Host
	stateRoot string
	natsURL   string
	tc        agent.TraceControl
	agents    map[string]*agentProc
	stopFarm  func()
}

type agentProc struct {
	cancel context.CancelFunc
	done   chan error
}

// baseline are the values a host's registry holds before anyone traces:
// tracing off, as CRM ships.
var baseline = settings.Values{Enabled: settings.Ptr(false), Refresh: settings.Ptr(0)}

// startTraceFarm runs n simulated hosts (tracing off) and their agents.
func startTraceFarm(t *testing.T, n int, natsURL string, rate float64, tc agent.TraceControl) *traceFarm {
	t.Helper()
	tf := &traceFarm{hosts: map[string]simulate.Host{}, stateRoot: t.TempDir(), natsURL: natsURL, tc: tc, agents: map[string]*agentProc{}}
	// Seed every host's settings file before the farm starts writing.
	probe, err := simulate.New(simulate.Options{Out: t.TempDir(), Hosts: n})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range probe.Hosts() {
		if err := settings.WriteFile(filepath.Join(tf.stateRoot, h.Name, settings.FileName), baseline); err != nil {
			t.Fatal(err)
		}
	}
	probe.Close()
	tf.farm, err = simulate.New(simulate.Options{Out: t.TempDir(), Hosts: n, Seed: 11, Rate: rate, SettingsDir: tf.stateRoot, LF: true,
		FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tf.farm.Run(ctx) }()
	tf.stopFarm = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("farm: %v", err)
		}
	}
	for _, h := range tf.farm.Hosts() {
		tf.hosts[h.Name] = h
		tf.startAgent(t, h.Name)
	}
	t.Cleanup(tf.stop)
	return tf
}

func (tf *traceFarm) startAgent(t *testing.T, host string) {
	t.Helper()
	h := tf.hosts[host]
	tc := tf.tc
	tc.Store = agent.TraceStoreFile
	a, err := agent.New(agent.Options{NATS: secret.MustURL(tf.natsURL), Name: h.Name, Roles: event.RoleStrings(h.Roles),
		StateDir: filepath.Join(tf.stateRoot, h.Name), HeartbeatEvery: 500 * time.Millisecond, TraceControl: withDir(tc, h.TraceDir)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &agentProc{cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- a.Run(ctx) }()
	tf.agents[host] = p
}

func withDir(tc agent.TraceControl, dir string) agent.TraceControl {
	tc.Dir = dir
	return tc
}

func (tf *traceFarm) stopAgent(t *testing.T, host string) {
	t.Helper()
	p := tf.agents[host]
	if p == nil {
		return
	}
	delete(tf.agents, host)
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("agent %s: %v", host, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("agent %s did not stop", host)
	}
}

func (tf *traceFarm) stop() {
	for host := range tf.agents {
		p := tf.agents[host]
		p.cancel()
		<-p.done
	}
	tf.agents = map[string]*agentProc{}
	if tf.stopFarm != nil {
		tf.stopFarm()
		tf.stopFarm = nil
	}
}

// values are what a host's settings file (its "registry") holds now.
func (tf *traceFarm) values(t *testing.T, host string) settings.Values {
	t.Helper()
	v, err := settings.ReadFile(filepath.Join(tf.stateRoot, host, settings.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// traceFile is one trace file of a simulated host, read by the project's
// parser.
type traceFile struct {
	name    string
	header  tracing.Header
	records []tracing.Record
}

func (tf *traceFarm) files(t *testing.T, host string) []traceFile {
	t.Helper()
	dir := tf.hosts[host].TraceDir
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []traceFile
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := tracing.NewReader(f)
		x := traceFile{name: e.Name()}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			x.records = append(x.records, rec)
		}
		x.header = r.Header()
		f.Close()
		out = append(out, x)
	}
	return out
}

// withHeader returns the host's files whose header shows categories.
func (tf *traceFarm) withHeader(t *testing.T, host, categories string) []traceFile {
	var out []traceFile
	for _, f := range tf.files(t, host) {
		if f.header.Categories == categories {
			out = append(out, f)
		}
	}
	return out
}

// operatorClient creates an operator with role and returns its API client.
func operatorClient(t *testing.T, srv *server.Server, name string, role access.Role) *client.Client {
	t.Helper()
	tok, err := access.ParseToken(operatorToken(t, srv, name, role))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Options{URL: "http://" + srv.HTTPAddr(), Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operatorToken creates an operator with role and returns its token.
func operatorToken(t *testing.T, srv *server.Server, name string, role access.Role) string {
	t.Helper()
	tok, err := access.CreateOperator(context.Background(), srv.Store(), access.NewOperator{Name: name, Role: role, By: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// setAndWait makes a setting and waits until every agent it reaches has
// acknowledged; it fails the test unless all applied.
func setAndWait(t *testing.T, c *client.Client, req settings.Request) settings.ChangeResponse {
	t.Helper()
	resp, err := c.TraceSet(context.Background(), req)
	if err != nil {
		t.Fatalf("trace set %s: %v", req.Target, err)
	}
	waitAll(t, c, resp.Agents)
	return resp
}

func waitAll(t *testing.T, c *client.Client, exps []settings.Expectation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	outs, err := c.TraceWait(ctx, exps, client.TraceWaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if !o.OK() {
			t.Fatalf("%s: %s (%s); all outcomes %+v", o.Host, o.Result, o.Reason, outs)
		}
	}
}

func agentStatus(t *testing.T, c *client.Client, host string) settings.AgentStatus {
	t.Helper()
	st, err := c.TraceStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Agents {
		if a.Host == host {
			return a
		}
	}
	t.Fatalf("status lists no agent %s", host)
	return settings.AgentStatus{}
}

// auditOf returns the audit entries of action, oldest first, with their
// details decoded.
func auditOf(t *testing.T, st store.Store, action string) []auditRow {
	t.Helper()
	log, err := st.AuditLog(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRow
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Action != action {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatalf("audit %s detail %q: %v", action, e.Detail, err)
		}
		out = append(out, auditRow{AuditEntry: e, detail: d})
	}
	return out
}

type auditRow struct {
	store.AuditEntry
	detail map[string]any
}
