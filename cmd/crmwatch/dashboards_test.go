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
