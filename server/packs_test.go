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
