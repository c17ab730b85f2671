package simulate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden pins the exact bytes of a small farm (every role, a CRM 2016,
// 2011 and 4.0 host, call stacks, two faults) so any change to the format is
// a reviewed diff. Regenerate with `go test ./simulate -run Golden -update`.
func TestGolden(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 9, Orgs: 3, Seed: 2026, CallStack: true,
		Faults: []string{FaultSQLTimeouts, FaultSandboxCrash}})
	generate(t, f, 12)
	got := readTree(t, f.opts.Out)
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for name, b := range got {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := readTree(t, dir)
	var names []string
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(want) != len(got) {
		t.Fatalf("%d files written, %d golden (run with -update after reviewing the change)", len(got), len(want))
	}
	for _, name := range names {
		if !bytes.Equal(got[name], want[name]) {
			t.Errorf("%s differs from testdata/golden (run with -update after reviewing the change)", name)
		}
	}
}
