package crm

import (
	"context"
	"io/fs"
	"slices"
	"testing"

	"crmwatch/packs"
	"crmwatch/packs/packtest"
)

func TestLoadBuiltin(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if p.Rule("crm.trace.sql-error") == nil {
		t.Fatal("the foundation rule crm.trace.sql-error is missing")
	}
}

// TestPackTests runs every unit test of the pack and checks that each rule
// is expected by at least one of them.
func TestPackTests(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	fsys, names, err := Tests()
	if err != nil || len(names) == 0 {
		t.Fatalf("no tests: %v", err)
	}
	covered := map[string]bool{}
	for _, name := range names {
		res, err := packtest.RunFile(context.Background(), fsys, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			if !r.Passed() {
				t.Errorf("%s: %s:\n%s", name, r.Name, r.Failures)
			}
		}
		tf, err := packs.ParseTestFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tf.Tests {
			for _, ev := range tc.Eval {
				for _, a := range ev.Alerts {
					covered[a.Rule] = true
				}
			}
		}
	}
	var missing []string
	for _, r := range p.Rules {
		if !covered[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d rules have no unit test expecting them: %v", len(missing), missing)
	}
	_ = fs.ValidPath
}
