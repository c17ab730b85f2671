package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/server"
	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

// traceCLIStack is a server with one live agent (CRMAPP01) and one that
// registered long ago and went quiet (CRMOLD01), both AppServers.
func traceCLIStack(t *testing.T) (url, admin, viewer string) {
	t.Helper()
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	ctx := context.Background()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	srv, stop, err := server.Start(sctx, server.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	a, err := agent.New(agent.Options{NATS: srv.NATSURL(), Name: "CRMAPP01", Roles: []string{"AppServer"},
		StateDir: filepath.Join(t.TempDir(), "CRMAPP01"), HeartbeatEvery: 500 * time.Millisecond, TraceControl: agent.TraceControl{Store: agent.TraceStoreFile}})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopAgent := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	t.Cleanup(func() { stopAgent(); <-done })

	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{srv.NATSURL().Reveal()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ag, err := transport.OpenAgents(ctx, js, transport.Names{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := ag.Put(ctx, transport.Registration{Name: "CRMOLD01", Roles: []string{"AppServer"}, StartedAt: old, LastHeartbeat: old, HeartbeatEvery: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, role access.Role) string {
		tok, err := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: name, Role: role, By: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Reveal()
	}
	url = "http://" + srv.HTTPAddr()
	admin, viewer = mk("alice", access.RoleAdmin), mk("victor", access.RoleReadonly)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := runCLI(t, traceCmd(), "status", "--json", "--url", url, "--token", admin)
		if err == nil && strings.Count(out, `"host"`) >= 2 && strings.Contains(out, `"online": true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents not in status: %s %v", out, err)
		}
	}
	return url, admin, viewer
}

func TestTraceSetClearStatusCLI(t *testing.T) {
	url, admin, _ := traceCLIStack(t)
	conn := []string{"--url", url, "--token", admin}

	// A host override on the live agent: applied, exit 0, a progress line.
	out, err := runCLI(t, traceCmd(), append([]string{"set", "--host", "crmapp01", "--categories", "platform.sql:verbose", "--callstack", "--for", "10m", "--reason", "INC-1"}, conn...)...)
	if err != nil {
		t.Fatalf("set --host: %v\n%s", err, out)
	}
	for _, want := range []string{"for host CRMAPP01: on Platform.Sql:Verbose, call stack, 5 MB, until ", "set by alice",
		"waiting for acknowledgements: 1/1 acknowledged: 1 applied", "CRMAPP01  applied", "Applied on every agent (1)."} {
		if !strings.Contains(out, want) {
			t.Errorf("set --host output lacks %q:\n%s", want, out)
		}
	}
	// The role reaches the quiet agent too: it is named, and the exit status is 1.
	out, err = runCLI(t, traceCmd(), append([]string{"set", "--role", "AppServer", "--wait", "1s", "--json"}, conn...)...)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("set --role with an offline agent: %v\n%s", err, out)
	}
	var res traceChangeResult
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if res.AllApplied || len(res.Agents) != 1 || res.Agents[0].Host != "CRMOLD01" || res.Agents[0].Result != settings.ResultOffline ||
		len(res.Change.Unchanged) != 1 || !strings.Contains(res.Change.Unchanged[0].Note, "host beats role") {
		t.Errorf("--json result: %+v", res)
	}
	out, err = runCLI(t, traceCmd(), append([]string{"status"}, conn...)...)
	if err != nil || !strings.Contains(out, "host CRMAPP01") || !strings.Contains(out, "offline") || !strings.Contains(out, "(no trace values)") {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, err = runCLI(t, traceCmd(), append([]string{"clear", "host:CRMAPP01", "--reason", "fixed"}, conn...)...)
	if err != nil || !strings.Contains(out, "cleared") || !strings.Contains(out, "CRMAPP01  applied") {
		t.Errorf("clear host: %v\n%s", err, out)
	}
	out, err = runCLI(t, traceCmd(), append([]string{"clear", "role", "AppServer", "--wait", "1s"}, conn...)...)
	if !errors.As(err, &ee) || !strings.Contains(out, "CRMAPP01  restored") || !strings.Contains(out, "CRMOLD01 (offline)") {
		t.Errorf("clear role: %v\n%s", err, out)
	}
	if strings.Contains(out, admin) {
		t.Error("the operator token was printed")
	}
}

func TestTraceSetCLIRefusals(t *testing.T) {
	url, admin, viewer := traceCLIStack(t)
	for _, c := range []struct {
		args []string
		tok  string
		want string
	}{
		{[]string{"set"}, admin, "give exactly one target: --all, --role ROLE, --group GROUP or --host HOST"},
		{[]string{"set", "--all", "--host", "X"}, admin, "give exactly one target"},
		{[]string{"set", "--all", "--categories", "*:Loud;Platform..Sql:Error"}, admin, `level "Loud" is not one of Off, Error, Warning, Info, Verbose`},
		{[]string{"set", "--all", "--categories", "*:Loud;Platform..Sql:Error"}, admin, `entry 2 "Platform..Sql:Error": category "Platform..Sql"`},
		{[]string{"set", "--all", "--filesize", "200"}, admin, "file size 200 MB: TraceFileSizeLimit takes 1 to 100"},
		{[]string{"set", "--all", "--for", "48h"}, admin, "duration 48h0m0s: want 1s to 24h0m0s"},
		{[]string{"set", "--role", "WebServer"}, admin, `unknown role "WebServer"`},
		{[]string{"set", "--all"}, viewer, `operator "victor" (role readonly) may not change trace settings`},
		{[]string{"clear", "group:nope"}, admin, "no trace setting for group nope: nothing to clear"},
		{[]string{"clear", "CRMAPP01"}, admin, "want all, role:NAME, group:NAME or host:NAME"},
	} {
		out, err := runCLI(t, traceCmd(), append(c.args, "--url", url, "--token", c.tok)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v\n%s", c.args, err, out)
		}
	}
	// Warnings do not stop a setting: an unknown category, a host no agent has.
	out, err := runCLI(t, traceCmd(), "set", "--host", "CRMNEW09", "--categories", "Xrm.Plugin:Verbose", "--url", url, "--token", admin)
	for _, want := range []string{`warning: entry 1 "Xrm.Plugin:Verbose": category Xrm.Plugin is not in the CRM 2011/2013 category list`,
		`warning: no agent named "CRMNEW09" has registered; the setting waits for it`, "No registered agent is affected."} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("warnings: %v, output lacks %q:\n%s", err, want, out)
		}
	}
	// --off and --no-expiry (admin): applied with no expiry shown as such.
	out, err = runCLI(t, traceCmd(), "set", "--host", "CRMAPP01", "--off", "--no-expiry", "--url", url, "--token", admin)
	if err != nil || !strings.Contains(out, "for host CRMAPP01: off, no expiry, set by alice") {
		t.Errorf("--off --no-expiry: %v\n%s", err, out)
	}
}

// traceCmd is `crmwatch trace` as the root runs it: errors returned, not
// printed with the usage.
func traceCmd() *cobra.Command {
	c := newTraceCmd()
	c.SilenceUsage, c.SilenceErrors = true, true
	return c
}
