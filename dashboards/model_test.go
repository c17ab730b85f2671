package dashboards_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"crmwatch/dashboards"
	"crmwatch/packs"
	"crmwatch/packs/crm"
)

// TestBuiltinDashboards checks the built-in pack defines the dashboards
// docs/dashboards.md promises, each with panels that query something.
func TestBuiltinDashboards(t *testing.T) {
	ds := builtin(t)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
		if d.UID != "crmwatch-"+d.ID || d.Pack != "crm" {
			t.Errorf("dashboard %s: uid %q pack %q", d.ID, d.UID, d.Pack)
		}
		for _, p := range d.Panels {
			if len(p.Queries) == 0 {
				t.Errorf("dashboard %s panel %s has no query", d.ID, p.Key)
			}
			if p.File == "" || p.Line == 0 {
				t.Errorf("dashboard %s panel %s has no file and line", d.ID, p.Key)
			}
		}
	}
	want := []string{"crm-overview", "crm-role-frontend", "crm-role-async", "crm-role-sandbox", "crm-role-sql",
		"crm-server", "crm-alerts", "crm-trace-errors", "crm-agents", "crm-capacity"}
	if !slices.Equal(ids, want) {
		t.Errorf("built-in dashboards %v, want %v", ids, want)
	}
	server := find(t, ds, "crm-server")
	if !slices.Contains(server.Variables, dashboards.VarHost) {
		t.Error("the per-server dashboard has no host variable")
	}
	if q := server.Panels[0].Queries[0]; q.Expr != `crmwatch_perfcounter_value{counter="% processor time",counter_instance="_total",object="processor",host=~"$host"}` {
		t.Errorf("per-server CPU query: %s", q.Expr)
	}
}

func find(t testing.TB, ds []dashboards.Dashboard, id string) dashboards.Dashboard {
	t.Helper()
	for _, d := range ds {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no dashboard %s", id)
	return dashboards.Dashboard{}
}

func keys(d dashboards.Dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		out = append(out, p.Key)
	}
	return out
}

// TestOverridesAddAndHidePanels: an operator hides two panels of the
// overview and adds one, without editing the pack.
func TestOverridesAddAndHidePanels(t *testing.T) {
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"ov.yaml": {Data: []byte(`format: crmwatch.overrides/v1
dashboards:
  - dashboard: crm-overview
    hide: [cpu, async-backlog]
    add:
      - id: queue
        title: Requests in application queue
        counters: ['\ASP.NET Apps v4.0.30319(*)\Requests In Application Queue']
      - id: open-critical
        title: Open critical alerts
        kind: stat
        queries: [{expr: 'sum(crmwatch_alerts_open{severity="critical"})'}]
`)}}
	ov, err := packs.ParseOverrides(fsys, "ov.yaml", []*packs.Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashboards.Build([]*packs.Pack{p}, []*packs.Overrides{ov})
	if err != nil {
		t.Fatal(err)
	}
	got := keys(find(t, ds, "crm-overview"))
	want := []string{"open-alerts", "memory", "failed-organization-service-requests", "sql-errors", "agents", "queue", "open-critical"}
	if !slices.Equal(got, want) {
		t.Errorf("overview panels %v, want %v", got, want)
	}
	added := find(t, ds, "crm-overview").Panels[5]
	if added.File != "ov.yaml" || added.Line != 6 {
		t.Errorf("added panel located at %s:%d, want ov.yaml:6", added.File, added.Line)
	}
	if len(keys(find(t, builtin(t), "crm-overview"))) != 7 {
		t.Error("overrides changed the pack itself")
	}
}

// TestProblemsAllAtOnce: every mistake of a dashboards file and of an
// overrides file is reported in one go, with file and line.
func TestProblemsAllAtOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"pack.yaml": {Data: []byte("format: crmwatch.pack/v1\nname: p\nversion: 1.0.0\ndescription: d\nroles: [AppServer]\n")},
		"dashboards/d.yaml": {Data: []byte(`dashboards:
  - id: d1
    title: One
    panels:
      - {title: Bad counter, counters: ['\NoCounter']}
      - {title: Unknown rule, rules: [nope]}
      - {title: Empty}
      - {title: Empty}
  - id: d1
    title: Again
    panels:
      - {title: Unknown metric, queries: [{expr: 'rate(node_cpu_seconds_total[5m])'}]}
      - {title: Broken, queries: [{expr: 'sum(crmwatch_alerts_open'}]}
`)},
	}
	_, err := packs.Load(fsys, "p")
	if err == nil {
		t.Fatal("the pack loaded")
	}
	msg := err.Error()
	for _, want := range []string{
		`p/dashboards/d.yaml:5: dashboard "d1" panel "bad-counter"`,
		`p/dashboards/d.yaml:6: dashboard "d1" panel "unknown-rule": unknown rule "nope"`,
		`p/dashboards/d.yaml:7: dashboard "d1" panel "empty": shows nothing`,
		`p/dashboards/d.yaml:8: dashboard "d1": panel "empty" is already used at line 7`,
		`p/dashboards/d.yaml:9: dashboard id "d1" is already used at p/dashboards/d.yaml:2`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	// Queries are checked when the dashboards are built.
	fsys["dashboards/d.yaml"] = &fstest.MapFile{Data: []byte(`dashboards:
  - id: d1
    title: One
    panels:
      - {title: Unknown metric, queries: [{expr: 'rate(node_cpu_seconds_total[5m])'}]}
      - {title: Broken, queries: [{expr: 'sum(crmwatch_alerts_open'}]}
`)}
	p, err := packs.Load(fsys, "p")
	if err != nil {
		t.Fatal(err)
	}
	_, err = dashboards.Build([]*packs.Pack{p}, nil)
	if err == nil {
		t.Fatal("bad queries built")
	}
	if _, ok := err.(packs.Problems); !ok {
		t.Errorf("error %T is not packs.Problems", err)
	}
	for _, want := range []string{
		`p/dashboards/d.yaml:5: panel "unknown-metric": query "rate(node_cpu_seconds_total[5m])": metric node_cpu_seconds_total is not exposed`,
		`p/dashboards/d.yaml:6: panel "broken": query "sum(crmwatch_alerts_open": unclosed '('`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%s", want, err)
		}
	}
	// Overrides: unknown dashboard, unknown panel, clashing added panel.
	p, err = crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	ovfs := fstest.MapFS{"ov.yaml": {Data: []byte(`format: crmwatch.overrides/v1
dashboards:
  - dashboard: nope
    hide: [cpu]
  - dashboard: crm-overview
    hide: [cpux]
    add:
      - {id: cpu, title: CPU again, counters: ['\Processor(_Total)\% Processor Time']}
`)}}
	_, err = packs.ParseOverrides(ovfs, "ov.yaml", []*packs.Pack{p})
	if err == nil {
		t.Fatal("bad overrides parsed")
	}
	for _, want := range []string{
		`ov.yaml:3:5: /dashboards/0/dashboard: no pack has a dashboard "nope"`,
		`ov.yaml:6:12: /dashboards/1/hide/0: dashboard "crm-overview" has no panel "cpux" (panels: open-alerts, cpu,`,
		`ov.yaml:8:9: /dashboards/1/add/0: dashboard "crm-overview" already has a panel "cpu": give the added panel another id`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%s", want, err)
		}
	}
}

// TestPromtoolChecksQueries writes every query of the built-in
// dashboards as a recording rule and has the real promtool check them:
// the lexer finds metric names, promtool checks the whole grammar.
func TestPromtoolChecksQueries(t *testing.T) {
	tool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed but CI is set: run scripts/setup.sh")
		}
		t.Skip("promtool not found (Debian package prometheus)")
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	for _, d := range builtin(t) {
		for _, p := range d.Panels {
			for i, q := range p.Queries {
				// Grafana variables are not PromQL: give them a value.
				expr := strings.ReplaceAll(q.Expr, "$host", ".*")
				b.WriteString("      - record: crmwatch:" + strings.ReplaceAll(d.ID+"_"+p.Key, "-", "_") + "_" + string(rune('a'+i)) + "\n")
				b.WriteString("        expr: " + strconvQuote(expr) + "\n")
			}
		}
	}
	f := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "check", "rules", f).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b.String())
	}
}

// strconvQuote quotes s as a YAML double-quoted string.
func strconvQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
