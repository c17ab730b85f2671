package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSimulateBackfill(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	r := runRoot(t, "simulate", "--backfill", "2d", "--data", data, "--hosts", "2", "--orgs", "3")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"back-filling 2 days of capacity history into " + data, "wrote ", "grows fastest", `incident "slow-queries"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if m := regexp.MustCompile(`day (\d+) of (\d+)\n$`).FindStringSubmatch(r.stderr); m == nil || m[1] != m[2] {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
	for _, bad := range []string{"ninety", "-3d", "0d"} {
		r := runRoot(t, "simulate", "--backfill", bad, "--data", data)
		if r.code == 0 || !strings.Contains(r.stderr, "--backfill") || !strings.Contains(r.stderr, "90d") {
			t.Errorf("--backfill %s: exit %d, stderr %q; want an error naming the flag and an example", bad, r.code, r.stderr)
		}
	}
}
