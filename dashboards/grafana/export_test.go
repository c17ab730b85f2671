package grafana_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/dashboards"
	"crmwatch/dashboards/grafana"
	"crmwatch/packs"
	"crmwatch/packs/crm"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func builtin(t testing.TB) []dashboards.Dashboard {
	t.Helper()
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashboards.Build([]*packs.Pack{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func testAccess(t testing.TB) *grafana.Access {
	t.Helper()
	a, err := grafana.ParseAccess([]byte("format: crmwatch.grafana-access/v1\noperators:\n  - {team: crm-noc, permission: view}\n  - {user: alice, permission: edit}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestExportGolden exports the built-in dashboards and compares every file
// with testdata/export (go test -update rewrites them).
func TestExportGolden(t *testing.T) {
	dir := t.TempDir()
	files, err := grafana.Export(dir, builtin(t), testAccess(t), "/var/lib/crmwatch/grafana/dashboards")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 12 {
		t.Errorf("%d files written, want 10 dashboards, the provisioning file and the manifest", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		got, _ := os.ReadFile(f)
		golden := filepath.Join("testdata", "export", rel)
		if *update {
			_ = os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (go test -update rewrites it)", rel, golden)
		}
	}
}

// TestDashboardJSON checks what Grafana needs: the current schema, a
// Prometheus data-source variable, every panel and query pointing at it and
// no data-source id anywhere.
func TestDashboardJSON(t *testing.T) {
	for _, d := range builtin(t) {
		data, err := grafana.Dashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			UID           string `json:"uid"`
			SchemaVersion int    `json:"schemaVersion"`
			Templating    struct {
				List []struct {
					Name, Type string
					Query      any `json:"query"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Datasource map[string]string `json:"datasource"`
				Targets    []struct {
					Datasource map[string]string `json:"datasource"`
					Expr       string            `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.UID != d.UID || m.SchemaVersion < 39 {
			t.Errorf("%s: uid %q schemaVersion %d", d.ID, m.UID, m.SchemaVersion)
		}
		if len(m.Templating.List) == 0 || m.Templating.List[0].Name != "datasource" || m.Templating.List[0].Type != "datasource" || m.Templating.List[0].Query != "prometheus" {
			t.Errorf("%s: first variable is not a Prometheus data-source variable: %+v", d.ID, m.Templating.List)
		}
		for _, p := range m.Panels {
			if p.Datasource["uid"] != "${datasource}" {
				t.Errorf("%s: panel data source %v", d.ID, p.Datasource)
			}
			for _, q := range p.Targets {
				if q.Datasource["uid"] != "${datasource}" || q.Expr == "" {
					t.Errorf("%s: target %+v", d.ID, q)
				}
			}
		}
		if strings.Contains(string(data), `"id": `) && strings.Contains(string(data), `"datasource": {`+"\n"+`        "id"`) {
			t.Errorf("%s: a data-source id is written", d.ID)
		}
	}
}
