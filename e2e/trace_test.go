package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/api/client"
	"crmwatch/server"
	"crmwatch/tracing/settings"
)

// TestTraceControlRoleHostClear is issue 10's main story on four simulated
// servers and their agents in one process: refused requests change
// nothing; a role-level setting reaches exactly the AppServers and changes
// what they trace (new files, header, levels, call stacks); a host override
// beats it on one host; clearing the override brings the role setting
// back there; clearing the role restores what every agent found. Every
// change is in the audit log with the operator, target, old and new values
// and reason.
func TestTraceControlRoleHostClear(t *testing.T) {
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0"})
	defer sp.stop()
	tf := startTraceFarm(t, 4, sp.srv.NATSURL().Reveal(), 100, agent.TraceControl{})
	defer tf.stop()
	alice := operatorClient(t, sp.srv, "alice", access.RoleOperator)
	ctx := context.Background()
	eventually(t, 15*time.Second, "4 agents in the trace status", func() bool {
		st, err := alice.TraceStatus(ctx)
		return err == nil && len(st.Agents) == 4
	})

	// Refused: a bad level, a readonly operator, --no-expiry without admin.
	_, err := alice.TraceSet(ctx, settings.Request{Target: settings.Target{Scope: settings.ScopeRole, Name: "AppServer"}, Categories: "Platform.Sql:Verbos"})
	if err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), `level "Verbos" is not one of Off, Error, Warning, Info, Verbose`) {
		t.Errorf("bad level: %v", err)
	}
	viewer := operatorClient(t, sp.srv, "victor", access.RoleReadonly)
	if _, err := viewer.TraceSet(ctx, settings.Request{Target: settings.Farm}); !errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), "may not change trace settings") {
		t.Errorf("readonly operator: %v", err)
	}
	if _, err := alice.TraceSet(ctx, settings.Request{Target: settings.Farm, NoExpiry: true}); !errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), "needs the admin role") {
		t.Errorf("--no-expiry as operator: %v", err)
	}
	if _, err := alice.TraceSet(ctx, settings.Request{Target: settings.Target{Scope: settings.ScopeGroup, Name: "tenant-a"}}); err == nil || !strings.Contains(err.Error(), "no such server group") {
		t.Errorf("unknown group: %v", err)
	}
	if st, _ := alice.TraceStatus(ctx); len(st.Settings) != 0 {
		t.Fatalf("refused requests stored settings: %+v", st.Settings)
	}

	// A role-level setting reaches the two AppServers only.
	role := settings.Request{Target: settings.Target{Scope: settings.ScopeRole, Name: "appserver"}, Categories: "platform.sql:verbose;*:Error",
		CallStack: true, FileSizeMB: 1, For: settings.Duration(time.Hour), Reason: "INC-4711"}
	rr := setAndWait(t, alice, role)
	if got := hosts(rr.Agents); got != "CRMAPP01,CRMAPP02" || rr.Setting.Categories != "Platform.Sql:Verbose;*:Error" || rr.Setting.Target.Name != "AppServer" {
		t.Fatalf("role set reached %s with %+v", got, rr.Setting)
	}
	roleCats := rr.Setting.Categories
	for _, h := range []string{"CRMAPP01", "CRMAPP02"} {
		eventually(t, 15*time.Second, h+" writing a file with the role's header", func() bool { return len(tf.withHeader(t, h, roleCats)) > 0 })
		checkTraced(t, tf, h, roleCats, true)
		if v := tf.values(t, h); v.String() != "TraceEnabled=1 TraceCategories=Platform.Sql:Verbose;*:Error TraceCallStack=1 TraceFileSizeLimit=1 TraceRefresh=1" {
			t.Errorf("%s values: %s", h, v)
		}
	}
	for _, h := range []string{"CRMASYNC01", "CRMDEP01"} {
		if fs := tf.files(t, h); len(fs) != 0 || !tf.values(t, h).Equal(baseline) {
			t.Errorf("%s is not an AppServer but has %d trace files and values %s", h, len(fs), tf.values(t, h))
		}
	}
	eventually(t, 15*time.Second, "the setting confirmed by a new trace file", func() bool {
		a := agentStatus(t, alice, "CRMAPP01")
		return a.Applied != nil && a.Applied.Confirmed != nil
	})
	a := agentStatus(t, alice, "CRMAPP01")
	if a.Source != "role AppServer" || a.Result != settings.ResultApplied || a.Restore == nil || !a.Restore.Equal(baseline) || a.Expires == nil {
		t.Errorf("status of CRMAPP01: %+v", a)
	}

	// A host override beats the role on CRMAPP01 only.
	hr := setAndWait(t, alice, settings.Request{Target: settings.Target{Scope: settings.ScopeHost, Name: "crmapp01"}, Categories: "*:Warning", For: settings.Duration(30 * time.Minute)})
	if got := hosts(hr.Agents); got != "CRMAPP01" {
		t.Fatalf("host override reached %s", got)
	}
	eventually(t, 15*time.Second, "CRMAPP01 writing *:Warning", func() bool { return len(tf.withHeader(t, "CRMAPP01", "*:Warning")) > 0 })
	checkTraced(t, tf, "CRMAPP01", "*:Warning", false)
	if a := agentStatus(t, alice, "CRMAPP02"); a.Source != "role AppServer" || a.Desired.ID != rr.Setting.ID {
		t.Errorf("CRMAPP02 left the role setting: %+v", a)
	}
	// Setting the role again reaches CRMAPP02 only: the host setting wins.
	again := setAndWait(t, alice, role)
	if got := hosts(again.Agents); got != "CRMAPP02" || len(again.Unchanged) != 1 || !strings.Contains(again.Unchanged[0].Note, "host beats role") {
		t.Errorf("role again: agents %s, unchanged %+v", got, again.Unchanged)
	}

	// Clearing the override brings the role setting back on CRMAPP01.
	cr, err := alice.TraceClear(ctx, settings.ClearRequest{Target: settings.Target{Scope: settings.ScopeHost, Name: "CRMAPP01"}, Reason: "done"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.Agents) != 1 || cr.Agents[0].SettingID != again.Setting.ID {
		t.Fatalf("clear expects %+v, want CRMAPP01 back on %s", cr.Agents, again.Setting.ID)
	}
	waitAll(t, alice, cr.Agents)
	if a := agentStatus(t, alice, "CRMAPP01"); a.Source != "role AppServer" || a.Result != settings.ResultApplied || !a.Restore.Equal(baseline) {
		t.Errorf("after clearing the override: %+v (restore must stay what was found before any change)", a)
	}

	// Clearing the role restores what every agent found.
	cr, err = alice.TraceClear(ctx, settings.ClearRequest{Target: settings.Target{Scope: settings.ScopeRole, Name: "AppServer"}})
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, alice, cr.Agents)
	for _, h := range []string{"CRMAPP01", "CRMAPP02"} {
		if v := tf.values(t, h); !v.SameTrace(baseline) || *v.Refresh == 0 {
			t.Errorf("%s after clear: %s, want %s with a changed TraceRefresh", h, v, baseline)
		}
		if a := agentStatus(t, alice, h); a.Result != settings.ResultRestored || a.Restore != nil {
			t.Errorf("%s status after clear: %+v", h, a)
		}
	}
	checkAudit(t, sp.srv, rr.Setting.ID, hr.Setting.ID)

}

// checkTraced: the newest file with categories in its header holds only
// records that pass them, with call stacks exactly when asked.
func checkTraced(t *testing.T, tf *traceFarm, host, categories string, stacks bool) {
	t.Helper()
	var recs, withStack int
	for _, f := range tf.withHeader(t, host, categories) {
		if want := map[bool]string{true: "True", false: "False"}[stacks]; f.header.CallStackOn != want {
			t.Errorf("%s %s: CallStackOn %q, want %s", host, f.name, f.header.CallStackOn, want)
		}
		for _, r := range f.records {
			recs++
			if len(r.CallStack) > 0 {
				withStack++
			}
			if !passes(categories, r.Category, r.Level) {
				t.Fatalf("%s %s: record %s/%s is not allowed by %s", host, f.name, r.Category, r.Level, categories)
			}
		}
	}
	if stacks && recs > 5 && withStack == 0 {
		t.Errorf("%s: %d records under %s, none with a call stack", host, recs, categories)
	}
	if !stacks && withStack > 0 {
		t.Errorf("%s: %d records with call stacks under %s without --callstack", host, withStack, categories)
	}
}

// passes is the categories check for the few forms these tests use.
func passes(categories, cat, level string) bool {
	rank := map[string]int{"Off": 0, "Error": 1, "Warning": 2, "Info": 3, "Verbose": 4}
	best, bestLen := -1, -1
	for _, e := range strings.Split(categories, ";") {
		pat, lv, _ := strings.Cut(e, ":")
		n := -1
		switch {
		case pat == "*":
			n = 0
		case strings.EqualFold(pat, cat):
			n = 1000
		}
		if n > bestLen {
			best, bestLen = rank[lv], n
		}
	}
	return bestLen >= 0 && rank[level] <= best && rank[level] > 0
}

func checkAudit(t *testing.T, srv *server.Server, roleID, hostID string) {
	t.Helper()
	sets := auditOf(t, srv.Store(), "trace.set")
	if len(sets) != 3 {
		t.Fatalf("%d trace.set entries, want 3", len(sets))
	}
	first := sets[0]
	if first.Actor != "alice" || first.Target != "role AppServer" || first.detail["reason"] != "INC-4711" || first.detail["old"] != nil {
		t.Errorf("first set audit: %+v", first)
	}
	if nw, _ := first.detail["new"].(map[string]any); nw["id"] != roleID || nw["categories"] != "Platform.Sql:Verbose;*:Error" {
		t.Errorf("first set audit new value: %v", first.detail["new"])
	}
	if old, _ := sets[2].detail["old"].(map[string]any); old["id"] != roleID {
		t.Errorf("second role set audit must carry the replaced setting as old: %v", sets[2].detail["old"])
	}
	clears := auditOf(t, srv.Store(), "trace.clear")
	if len(clears) != 2 || clears[0].Target != "host CRMAPP01" || clears[0].detail["reason"] != "done" || clears[0].Actor != "alice" {
		t.Fatalf("clear audit: %+v", clears)
	}
	if old, _ := clears[0].detail["old"].(map[string]any); old["id"] != hostID || clears[0].detail["new"] != nil {
		t.Errorf("clear audit old/new: %v / %v", clears[0].detail["old"], clears[0].detail["new"])
	}
}

func hosts(es []settings.Expectation) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Host)
	}
	return strings.Join(out, ",")
}

// TestTraceGroupTargets: server groups come from the overrides files
// (re-read by a pack reload); a group setting reaches its members, a host
// setting beats it, and an unknown group is refused with the defined ones.
func TestTraceGroupTargets(t *testing.T) {
	ov := filepath.Join(t.TempDir(), "farm.yaml")
	writeOverrides := func(groups string) {
		if err := os.WriteFile(ov, []byte("format: crmwatch.overrides/v1\ngroups:\n"+groups+"overrides: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeOverrides("  back-end: [CRMASYNC01, crmdep01]\n")
	sp := startServer(t, server.Options{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", Overrides: []string{ov}})
	defer sp.stop()
	tf := startTraceFarm(t, 3, sp.srv.NATSURL().Reveal(), 50, agent.TraceControl{})
	defer tf.stop()
	c := operatorClient(t, sp.srv, "gina", access.RoleOperator)
	ctx := context.Background()
	eventually(t, 15*time.Second, "3 agents", func() bool {
		st, err := c.TraceStatus(ctx)
		return err == nil && len(st.Agents) == 3
	})
	if _, err := c.TraceSet(ctx, settings.Request{Target: settings.Target{Scope: settings.ScopeGroup, Name: "front"}}); err == nil ||
		!strings.Contains(err.Error(), `--group "front": no such server group in the overrides files (defined: back-end)`) {
		t.Errorf("unknown group: %v", err)
	}
	host := setAndWait(t, c, settings.Request{Target: settings.Target{Scope: settings.ScopeHost, Name: "CRMDEP01"}, Categories: "Deployment.*:Verbose"})
	gr := setAndWait(t, c, settings.Request{Target: settings.Target{Scope: settings.ScopeGroup, Name: "BACK-END"}, Categories: "Platform.*:Verbose"})
	if got := hosts(gr.Agents); got != "CRMASYNC01" || gr.Setting.Target.Name != "back-end" || len(gr.Unchanged) != 1 || gr.Unchanged[0].Host != "CRMDEP01" {
		t.Fatalf("group set: agents %s, unchanged %+v, target %s", got, gr.Unchanged, gr.Setting.Target)
	}
	if a := agentStatus(t, c, "CRMDEP01"); a.Desired.ID != host.Setting.ID || strings.Join(a.Groups, ",") != "back-end" {
		t.Errorf("CRMDEP01: %+v (host beats group)", a)
	}
	eventually(t, 15*time.Second, "CRMASYNC01 writing Platform.*:Verbose", func() bool {
		return len(tf.withHeader(t, "CRMASYNC01", "Platform.*:Verbose")) > 0
	})
	// A reload re-reads the groups: CRMAPP01 joins back-end and gets its setting.
	writeOverrides("  back-end: [CRMASYNC01, crmdep01, CRMAPP01]\n")
	if _, err := sp.srv.Reload(ctx, "gina"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "CRMAPP01 applying the group setting after the reload", func() bool {
		a := agentStatus(t, c, "CRMAPP01")
		return a.Source == "group back-end" && a.Result == settings.ResultApplied
	})

	// The raw API: unknown JSON fields are refused; DELETE with a target clears.
	tok := operatorToken(t, sp.srv, "raw", access.RoleOperator)
	if code, body := rawAPI(t, sp.srv, tok, "POST", "/api/v1/trace/settings", `{"targt": {"scope": "farm"}}`); code != 400 || !strings.Contains(body, `unknown field \"targt\"`) {
		t.Errorf("unknown field: %d %s", code, body)
	}
	if code, body := rawAPI(t, sp.srv, tok, "DELETE", "/api/v1/trace/settings?target=group:back-end&reason=done", ""); code != 200 || !strings.Contains(body, gr.Setting.ID) {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if clears := auditOf(t, sp.srv.Store(), "trace.clear"); len(clears) != 1 || clears[0].Actor != "raw" || clears[0].detail["reason"] != "done" {
		t.Errorf("DELETE audit: %+v", clears)
	}
}

func rawAPI(t *testing.T, srv *server.Server, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+srv.HTTPAddr()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}
