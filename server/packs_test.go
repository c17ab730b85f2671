package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadRules applies overrides files per host: a host override becomes a
// scoped variant of the pack's rule next to the base definition.
func TestLoadRulesOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `format: crmwatch.overrides/v1
overrides:
  - {host: CRMAPP01, rule: crm.windows.processor-time, warning: 90, critical: 95}
`)
	rs, err := loadRules(nil, []string{good})
	if err != nil {
		t.Fatal(err)
	}
	var variants []string
	for _, r := range rs {
		if r.ID == "crm.windows.processor-time" {
			variants = append(variants, r.Variant)
		}
	}
	if strings.Join(variants, ",") != ",host=CRMAPP01" {
		t.Errorf("variants of crm.windows.processor-time: %q, want the base and host=CRMAPP01", variants)
	}
	bad := write("bad.yaml", `format: crmwatch.overrides/v1
overrides:
  - {host: CRMAPP01, rule: no.such.rule, enabled: false}
`)
	if _, err := loadRules(nil, []string{bad}); err == nil || !strings.Contains(err.Error(), `no rule matches "no.such.rule"`) {
		t.Errorf("bad overrides file: %v", err)
	}
	if _, err := loadRules(nil, []string{filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("a missing overrides file must be an error")
	}
}

// The server builds the packs' dashboards with the rules: an overrides
// file that hides a panel takes it off the console's dashboard, and one
// whose added panel queries a metric nobody exposes is refused with its
// file and line (a reload keeps the running set, as for rules).
func TestLoadFarmDashboards(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hide := write("hide.yaml", "format: crmwatch.overrides/v1\ndashboards:\n  - {dashboard: crm-overview, hide: [cpu]}\n")
	f, err := loadFarm(nil, []string{hide})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.dashboards) != 10 || f.dashboards[0].ID != "crm-overview" {
		t.Fatalf("%d dashboards, first %+v", len(f.dashboards), f.dashboards[0].ID)
	}
	for _, p := range f.dashboards[0].Panels {
		if p.Key == "cpu" {
			t.Error("the hidden cpu panel is still on the overview")
		}
	}
	bad := write("bad.yaml", "format: crmwatch.overrides/v1\ndashboards:\n  - dashboard: crm-overview\n    add:\n      - {id: x, title: X, queries: [{expr: 'no_such_metric_total'}]}\n")
	_, err = loadFarm(nil, []string{bad})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5") || !strings.Contains(err.Error(), "no_such_metric_total is not exposed") {
		t.Fatalf("a panel over an unknown metric: %v", err)
	}
}
