package dashboards_test

import (
	"testing"

	"crmwatch/dashboards"
	"crmwatch/packs"
	"crmwatch/packs/crm"
)

// builtin builds the built-in pack's dashboards.
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
