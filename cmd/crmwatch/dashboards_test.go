package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
