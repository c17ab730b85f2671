package tracefiles

import (
	"path/filepath"
	"slices"
	"testing"

	"crmwatch/collectors"
)

func TestApplyPlan(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "Trace")
	c := DefaultConfig()
	c.Dirs = []string{abs}
	var _ collectors.Planned = c
	var _ collectors.TraceDirectories = c
	if c.ApplyPlan(collectors.Plan{Counters: []collectors.CounterSet{{Paths: []string{`\Memory\Available MBytes`}}}}) {
		t.Error("a plan without traces asks nothing of this collector")
	}
	other := filepath.Join(t.TempDir(), "More")
	asked := c.ApplyPlan(collectors.Plan{Traces: []collectors.TraceSource{{Directory: abs}, {Directory: other}, {Directory: "relative/dir"}}})
	if !asked || !slices.Equal(c.Dirs, []string{abs, other}) {
		t.Errorf("ApplyPlan = %v, dirs %q (the known dir once, the relative one left out)", asked, c.Dirs)
	}
	if dirs, pattern := c.TraceDirectories(); !slices.Equal(dirs, c.Dirs) || pattern != "*.log" {
		t.Errorf("TraceDirectories = %q, %q", dirs, pattern)
	}
}
