package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/dashboards/grafana"
	"crmwatch/dashboards/grafana/grafanatest"
)

// TestPackValidateChecksDashboardQueries: a dashboard querying a metric
// neither the agent nor the server exposes makes the pack invalid, named
// with file and line.
func TestPackValidateChecksDashboardQueries(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("pack.yaml", "format: crmwatch.pack/v1\nname: p\nversion: 1.0.0\ndescription: d\nroles: [AppServer]\n")
	write("dashboards/d.yaml", "dashboards:\n  - id: a\n    title: A\n    panels:\n      - {title: X, queries: [{expr: 'rate(node_cpu_total[5m])'}]}\n")
	r := runRoot(t, "pack", "validate", dir)
	want := filepath.Join(dir, "dashboards", "d.yaml") + `:5: panel "x": query "rate(node_cpu_total[5m])": metric node_cpu_total is not exposed`
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "is valid") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant %s", r.code, r.stdout, r.stderr, want)
	}
}

// TestDashboardsExport: the command writes the dashboards, the provider and
// the manifest; without --access, or with a principal that is not an
// operator team or user, it refuses and says what to do.
func TestDashboardsExport(t *testing.T) {
	dir := t.TempDir()
	access := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(access, []byte("format: crmwatch.grafana-access/v1\noperators:\n  - {team: crm-noc, permission: view}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := runRoot(t, "dashboards", "export", "--access", access, "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "10 dashboards for 1 operator principals") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"dashboards/crmwatch-crm-overview.json", "provisioning/crmwatch.yaml", "permissions.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if r := runRoot(t, "dashboards", "export", "--out", out); r.code == 0 || !strings.Contains(r.stderr, "--access FILE is required") {
		t.Errorf("without --access: exit %d %s", r.code, r.stderr)
	}
	for data, want := range map[string]string{
		"format: crmwatch.grafana-access/v1\noperators:\n  - {role: Viewer, permission: view}\n":      "field role not found",
		"format: crmwatch.grafana-access/v1\noperators:\n  - {customer: contoso, permission: view}\n": "field customer not found",
		"format: crmwatch.grafana-access/v1\noperators:\n  - {team: Viewer, permission: view}\n":      "looks like an organization role",
		"format: crmwatch.grafana-access/v1\noperators: []\n":                                         "name at least one operator team or user",
	} {
		if err := os.WriteFile(access, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := runRoot(t, "dashboards", "export", "--access", access, "--out", out); r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%q: exit %d, stderr %s, want %q", data, r.code, r.stderr, want)
		}
	}
}

// grafanaDouble is a Grafana organization of operators (alice, and bob in
// team crm-noc) accepting token, and an access file naming them.
func grafanaDouble(t *testing.T, token string) (*grafanatest.Server, string) {
	t.Helper()
	g := grafanatest.New(token, []grafanatest.User{{ID: 1, Login: "alice", Role: "Admin"}, {ID: 2, Login: "bob", Role: "Viewer"}},
		[]grafanatest.Team{{ID: 7, Name: "crm-noc", Members: []int64{2}}})
	t.Cleanup(g.Close)
	access := filepath.Join(t.TempDir(), "access.yaml")
	writeFileT(t, access, "format: crmwatch.grafana-access/v1\noperators:\n  - {team: crm-noc, permission: view}\n  - {user: alice, permission: edit}\n")
	return g, access
}

// TestDashboardsPush: dry run, push, push again (nothing to change), the
// refusal naming a non-operator member, and a missing token or URL.
func TestDashboardsPush(t *testing.T) {
	t.Setenv(grafana.EnvToken, "")
	g, access := grafanaDouble(t, "glsa_cli")
	args := []string{"dashboards", "push", "--grafana", g.URL, "--access", access, "--grafana-token", "glsa_cli"}
	r := runRoot(t, append(args, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: nothing was changed") || !strings.Contains(r.stdout, "create-folder crmwatch") || len(g.Writes()) != 0 {
		t.Fatalf("dry run: exit %d\n%s%s\nwrites %v", r.code, r.stdout, r.stderr, g.Writes())
	}
	if r = runRoot(t, args...); r.code != 0 || !strings.Contains(r.stdout, "create-dashboard crmwatch-crm-overview") ||
		!strings.Contains(r.stdout, "- organization role Viewer view") {
		t.Fatalf("push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Setenv(grafana.EnvToken, "glsa_cli")
	if r = runRoot(t, args[:6]...); r.code != 0 || !strings.Contains(r.stdout, "nothing to change") {
		t.Errorf("second push (token from $%s): exit %d\n%s%s", grafana.EnvToken, r.code, r.stdout, r.stderr)
	}
	g.AddUser(grafanatest.User{ID: 9, Login: "contoso-reader", Role: "Viewer"})
	if r = runRoot(t, args...); r.code != 1 || !strings.Contains(r.stderr, "refusing to push") || !strings.Contains(r.stderr, "contoso-reader (Viewer)") {
		t.Errorf("non-operator member: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Setenv(grafana.EnvToken, "")
	if r = runRoot(t, args[:6]...); r.code != 1 || !strings.Contains(r.stderr, "no Grafana token") || !strings.Contains(r.stderr, "--grafana-token or $"+grafana.EnvToken) {
		t.Errorf("no token: exit %d %s", r.code, r.stderr)
	}
	if r = runRoot(t, "dashboards", "push", "--access", access, "--grafana-token", "x"); r.code != 1 || !strings.Contains(r.stderr, "--grafana URL is required") {
		t.Errorf("no URL: exit %d %s", r.code, r.stderr)
	}
	// A principal that is not an operator team or user never reaches Grafana.
	before := g.Requests()
	for data, want := range map[string]string{
		"format: crmwatch.grafana-access/v1\noperators:\n  - {role: Viewer, permission: view}\n":      "field role not found",
		"format: crmwatch.grafana-access/v1\noperators:\n  - {customer: contoso, permission: view}\n": "field customer not found",
		"format: crmwatch.grafana-access/v1\noperators:\n  - {team: Editor, permission: edit}\n":      "looks like an organization role",
	} {
		writeFileT(t, access, data)
		if r = runRoot(t, args...); r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("%q: exit %d %s, want %q", data, r.code, r.stderr, want)
		}
	}
	if n := g.Requests() - before; n != 0 {
		t.Errorf("%d requests reached Grafana with a refused access file", n)
	}
}

// The secrets bar for the Grafana token: a marker token given by flag and
// by environment, through a successful push, a dry run, a refusal, a
// Grafana that refuses the token and echoes the Authorization header back
// in its error body (401, 403, 500), an unreachable Grafana and the help,
// appears in no output or error.
func TestGrafanaTokenNeverPrinted(t *testing.T) {
	t.Setenv(grafana.EnvToken, "")
	marker := "glsa_Gm" + randomHex(t)
	g, access := grafanaDouble(t, marker)
	var seen []string
	run := func(args ...string) result {
		r := runRoot(t, args...)
		seen = append(seen, r.stdout, r.stderr)
		return r
	}
	push := []string{"dashboards", "push", "--access", access, "--grafana-token", marker}
	if r := run(append(push, "--grafana", g.URL, "--dry-run")...); r.code != 0 {
		t.Fatalf("dry run: %s", r.stderr)
	}
	if r := run(append(push, "--grafana", g.URL)...); r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	t.Setenv(grafana.EnvToken, marker)
	if r := run("dashboards", "push", "--access", access, "--grafana", g.URL); r.code != 0 {
		t.Fatalf("push with the token from the environment: %s", r.stderr)
	}
	t.Setenv(grafana.EnvToken, "")
	g.AddUser(grafanatest.User{ID: 9, Login: "contoso-reader", Role: "Viewer"})
	if r := run(append(push, "--grafana", g.URL)...); r.code == 0 {
		t.Error("a non-operator member did not stop the push")
	}
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError} {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"message":"refused %s"}`, r.Header.Get("Authorization"))
		}))
		r := run(append(push, "--grafana", echo.URL)...)
		echo.Close()
		if r.code == 0 || !strings.Contains(r.stderr, fmt.Sprint(code)) || !strings.Contains(r.stderr, "refused Bearer [redacted]") {
			t.Errorf("echoing Grafana %d: exit %d %s", code, r.code, r.stderr)
		}
	}
	if r := run(append(push, "--grafana", "http://"+closedPort(t))...); r.code == 0 || !strings.Contains(r.stderr, "is unreachable") {
		t.Errorf("unreachable: %s", r.stderr)
	}
	run("dashboards", "push", "--help")
	for _, line := range strings.Split(strings.Join(seen, "\n"), "\n") {
		if strings.Contains(line, marker) {
			t.Errorf("token printed: %s", line)
		}
	}
}
