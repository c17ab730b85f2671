package rules_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/rules"
)

type changeLog struct {
	mu sync.Mutex
	cs []alerts.Change
}

func (c *changeLog) Send(_ context.Context, cs []alerts.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cs = append(c.cs, cs...)
	return nil
}

func (c *changeLog) raised(rule, host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.cs {
		if ch.Kind == alerts.ChangeRaised && ch.Alert.Rule == rule && len(ch.Alert.Hosts) > 0 && ch.Alert.Hosts[0] == host {
			return true
		}
	}
	return false
}

// An agent started without --roles: the built-in pack's rules that apply
// to every role (the pack's default) still apply to its host, the
// agent-missing alert fires for it, and its role-less events are counted
// and logged once for the host.
func TestBuiltinPackOnHostWithoutRoles(t *testing.T) {
	ctx := context.Background()
	sent := &changeLog{}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	e := rules.NewEngine(rules.Options{Sender: sent, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	if err := e.Load(builtinRules(t)); err != nil {
		t.Fatal(err)
	}
	t0 := rules.T0
	for _, hb := range []struct {
		host  string
		roles []string
	}{{"NOROLES01", nil}, {"APP01", []string{"AppServer"}}} {
		if err := e.Heartbeat(ctx, hb.host, hb.roles, t0); err != nil {
			t.Fatal(err)
		}
	}
	appErr := func(host string, d time.Duration) event.Event {
		return event.Event{Time: t0.Add(d), Host: host, Source: "trace", Category: "Application", Level: event.LevelError,
			Organization: "Contoso", Message: "Request /main.aspx failed"}
	}
	sqlErr := event.Event{Time: t0, Host: "NOROLES01", Source: "trace", Category: "Platform.Sql", Level: event.LevelError,
		Organization: "Contoso", Message: "Timeout expired"}
	for i := range 3 { // three batches: one log line for the host, three events counted
		if err := e.ProcessEvents(ctx, []event.Event{appErr("NOROLES01", time.Duration(i)*time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.ProcessEvents(ctx, []event.Event{sqlErr, appErr("APP01", 0)}); err != nil {
		t.Fatal(err)
	}
	if !sent.raised("crm.trace.application-error", "NOROLES01") {
		t.Error("a rule for every role did not apply to the host without roles")
	}
	if sent.raised("crm.trace.sql-error", "NOROLES01") {
		t.Error("crm.trace.sql-error (AppServer, AsyncService, … but not every role) applied to a host whose roles are unknown")
	}
	if err := e.Tick(ctx, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !sent.raised("crm.agent.missing", "NOROLES01") || !sent.raised("crm.agent.missing", "APP01") {
		t.Error("crm.agent.missing not raised for both silent agents")
	}
	c, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var counted float64
	for _, mf := range c {
		if mf.GetName() == "crmwatch_rules_unknown_role_events_total" {
			counted = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if counted != 4 {
		t.Errorf("crmwatch_rules_unknown_role_events_total = %v, want 4 (the role-less host's events only)", counted)
	}
	if n := strings.Count(logs.String(), "events from a host whose CRM roles are unknown"); n != 1 ||
		!strings.Contains(logs.String(), "host=NOROLES01 reason=\"its agent announced no roles\"") {
		t.Errorf("want one log line for NOROLES01, got %d:\n%s", n, logs.String())
	}
}

// The counter exists at 0 before any event, so a dashboard shows a line.
func TestUnknownRoleCounterPreinitialised(t *testing.T) {
	reg := prometheus.NewRegistry()
	rules.NewEngine(rules.Options{Logger: rules.Quiet, Registerer: reg})
	if n, err := testutil.GatherAndCount(reg, "crmwatch_rules_unknown_role_events_total"); err != nil || n != 1 {
		t.Fatalf("counter series: %d %v", n, err)
	}
}
