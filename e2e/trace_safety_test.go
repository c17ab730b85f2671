package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/alerts"
	"crmwatch/api/client"
	"crmwatch/server"
	"crmwatch/tracing/settings"
)

// TestTraceExpiresWhileServerIsDown: the agents end a setting on time by
// themselves while the server (and its NATS) is stopped — one of them was
// itself stopped at the expiry and reverts as it starts, still without
// the centre. When the server returns it removes the expired setting and
// audits the expiry once per agent, with the operator who set it.
func TestTraceExpiresWhileServerIsDown(t *testing.T) {
	opts := server.Options{DataDir: t.TempDir(), NATSListen: freeAddr(t), NATSSyncInterval: 100 * time.Millisecond}
	sp := startServer(t, opts)
	tf := startTraceFarm(t, 2, sp.srv.NATSURL().Reveal(), 100, agent.TraceControl{})
	defer tf.stop()
	admin := operatorClient(t, sp.srv, "ada", access.RoleAdmin)
	ctx := context.Background()
	eventually(t, 15*time.Second, "2 agents", func() bool {
		st, err := admin.TraceStatus(ctx)
		return err == nil && len(st.Agents) == 2
	})
	resp := setAndWait(t, admin, settings.Request{Target: settings.Farm, Categories: "*:Info", For: settings.Duration(4 * time.Second), Reason: "CHG-9"})
	expires := *resp.Setting.Expires
	sp.stop()
	tf.stopAgent(t, "CRMASYNC01")

	eventually(t, time.Until(expires)+5*time.Second, "CRMAPP01 to restore what it found with the server down", func() bool {
		return tf.values(t, "CRMAPP01").SameTrace(baseline)
	})
	if now := time.Now(); now.Before(expires) {
		t.Errorf("restored %s before the expiry %s", expires.Sub(now), expires)
	}
	before := tf.farm.Stats()[0].Trace.Records
	time.Sleep(600 * time.Millisecond)
	if after := tf.farm.Stats()[0].Trace.Records; after != before {
		t.Errorf("CRMAPP01 still traces after the expiry: %d → %d records", before, after)
	}
	if tf.values(t, "CRMASYNC01").SameTrace(baseline) {
		t.Fatal("CRMASYNC01 was stopped at the expiry, yet its values are already restored")
	}
	tf.startAgent(t, "CRMASYNC01")
	eventually(t, 5*time.Second, "CRMASYNC01 to restore at start, the centre still down", func() bool {
		return tf.values(t, "CRMASYNC01").SameTrace(baseline)
	})

	sp = startServer(t, opts)
	defer sp.stop()
	c := clientFor(t, sp.srv, "ada2", access.RoleAdmin)
	eventually(t, 20*time.Second, "the expiry audited per agent and for the setting", func() bool {
		return len(auditOf(t, sp.srv.Store(), "trace.expired")) == 2 && len(auditOf(t, sp.srv.Store(), "trace.expire")) == 1
	})
	for _, e := range auditOf(t, sp.srv.Store(), "trace.expired") {
		old, _ := e.detail["old"].(map[string]any)
		nw, _ := e.detail["new"].(map[string]any)
		if !strings.HasPrefix(e.Actor, "agent:CRM") || e.detail["set_by"] != "ada" || e.detail["reason"] != "CHG-9" ||
			old["categories"] != "*:Info" || nw["enabled"] != false || e.detail["source"] != "farm" {
			t.Errorf("expiry audit: %+v", e)
		}
	}
	if e := auditOf(t, sp.srv.Store(), "trace.expire")[0]; e.Actor != "crmwatch-server" || e.Target != "farm" || e.detail["set_by"] != "ada" {
		t.Errorf("server expiry audit: %+v", e)
	}
	eventually(t, 15*time.Second, "no settings left and both agents restored", func() bool {
		st, err := c.TraceStatus(ctx)
		if err != nil || len(st.Settings) != 0 || len(st.Agents) != 2 {
			return false
		}
		for _, a := range st.Agents {
			if a.Result != settings.ResultRestored {
				return false
			}
		}
		return true
	})
	// A server restart replays the acknowledgements: still one entry each.
	if n := len(auditOf(t, sp.srv.Store(), "trace.expired")); n != 2 {
		t.Errorf("%d expiry entries after the restart, want 2", n)
	}
}

// TestTraceOfflineAgentConvergesOnReconnect: an agent that is down when a
// setting is made is reported offline (and the wait names it), then
// applies the setting when it starts again.
func TestTraceOfflineAgentConvergesOnReconnect(t *testing.T) {
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0"})
	defer sp.stop()
	tf := startTraceFarm(t, 2, sp.srv.NATSURL().Reveal(), 100, agent.TraceControl{})
	defer tf.stop()
	c := clientFor(t, sp.srv, "olga", access.RoleOperator)
	ctx := context.Background()
	eventually(t, 15*time.Second, "2 agents", func() bool {
		st, err := c.TraceStatus(ctx)
		return err == nil && len(st.Agents) == 2
	})
	tf.stopAgent(t, "CRMASYNC01")
	eventually(t, 10*time.Second, "CRMASYNC01 offline", func() bool { return !agentStatus(t, c, "CRMASYNC01").Online })

	resp, err := c.TraceSet(ctx, settings.Request{Target: settings.Farm, Categories: "*:Verbose"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	outs, err := c.TraceWait(wctx, resp.Agents, client.TraceWaitOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := client.PrintTraceOutcomes(&buf, outs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Not applied on 1 of 2 agents: CRMASYNC01 (offline).") || outs[0].Host != "CRMAPP01" || outs[0].Result != settings.ResultApplied {
		t.Errorf("wait with an agent down:\n%s", buf.String())
	}
	tf.startAgent(t, "CRMASYNC01")
	waitAll(t, c, resp.Agents)
	eventually(t, 15*time.Second, "CRMASYNC01 writing *:Verbose after it reconnected", func() bool {
		return len(tf.withHeader(t, "CRMASYNC01", "*:Verbose")) > 0
	})
}

// TestTraceDiskGuard: verbose tracing fills the trace folder past its
// quota; the agent turns tracing back off by itself, says why in its
// acknowledgement, the pack raises a warning alert from its event, the
// trip is audited, and a new setting is refused while the folder is still
// too big.
func TestTraceDiskGuard(t *testing.T) {
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0"})
	defer sp.stop()
	tf := startTraceFarm(t, 1, sp.srv.NATSURL().Reveal(), 3000, agent.TraceControl{QuotaMB: 1, GuardEvery: 200 * time.Millisecond})
	defer tf.stop()
	c := clientFor(t, sp.srv, "bob", access.RoleOperator)
	ctx := context.Background()
	eventually(t, 15*time.Second, "the agent", func() bool {
		st, err := c.TraceStatus(ctx)
		return err == nil && len(st.Agents) == 1
	})
	resp := setAndWait(t, c, settings.Request{Target: settings.Target{Scope: settings.ScopeHost, Name: "CRMAPP01"}, CallStack: true, Reason: "slow form"})
	eventually(t, 30*time.Second, "the disk guard to turn tracing off", func() bool {
		a := agentStatus(t, c, "CRMAPP01")
		return a.Result == settings.ResultFailed && strings.Contains(a.Reason, "disk guard: trace folder") && strings.Contains(a.Reason, "over its quota of 1.0 MiB")
	})
	if v := tf.values(t, "CRMAPP01"); !v.SameTrace(baseline) {
		t.Errorf("values after the guard tripped: %s", v)
	}
	eventually(t, 20*time.Second, "a warning alert from the guard's event", func() bool {
		page, err := c.Alerts(ctx, client.AlertsQuery{Rule: "crm.trace.disk-guard"})
		as := page.Alerts
		return err == nil && len(as) == 1 && as[0].Severity == alerts.SeverityWarning && strings.Join(as[0].Hosts, ",") == "CRMAPP01"
	})
	eventually(t, 10*time.Second, "the trip audited", func() bool { return len(auditOf(t, sp.srv.Store(), "trace.guard")) == 1 })
	e := auditOf(t, sp.srv.Store(), "trace.guard")[0]
	if e.Actor != "agent:CRMAPP01" || e.detail["set_by"] != "bob" || e.detail["setting_id"] != resp.Setting.ID || e.detail["reason"] != "slow form" ||
		!strings.Contains(e.detail["why"].(string), "over its quota") {
		t.Errorf("guard audit: %+v", e)
	}

	again, err := c.TraceSet(ctx, settings.Request{Target: settings.Target{Scope: settings.ScopeHost, Name: "CRMAPP01"}, Categories: "Platform.Sql:Verbose"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	outs, err := c.TraceWait(wctx, again.Agents, client.TraceWaitOptions{})
	cancel()
	if err != nil || len(outs) != 1 || outs[0].Result != settings.ResultFailed || !strings.Contains(outs[0].Reason, "tracing stays off") {
		t.Errorf("a new setting over quota: %+v %v", outs, err)
	}
	if v := tf.values(t, "CRMAPP01"); !v.SameTrace(baseline) {
		t.Errorf("values after the refused setting: %s", v)
	}
}

// clientFor creates an operator on a (re)started server and returns its client.
func clientFor(t *testing.T, srv *server.Server, name string, role access.Role) *client.Client {
	return operatorClient(t, srv, name, role)
}
