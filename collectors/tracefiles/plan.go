package tracefiles

import (
	"path/filepath"
	"runtime"
	"strings"

	"crmwatch/collectors"
)

// ApplyPlan adds the trace directories the packs ask for on this host's
// roles (implements collectors.Planned). Only directories that are
// absolute paths on this system are used (a pack's Windows path means
// nothing on a Linux agent); the collector's pattern applies to them. It
// reports whether the plan asks this collector to follow a directory.
func (c *Config) ApplyPlan(p collectors.Plan) bool {
	asked := false
	for _, t := range p.Traces {
		if !filepath.IsAbs(t.Directory) {
			continue
		}
		asked = true
		if !hasDir(c.Dirs, t.Directory) {
			c.Dirs = append(c.Dirs, t.Directory)
		}
	}
	return asked
}

// TraceDirectories are the folders the collector follows and its file
// pattern (implements collectors.TraceDirectories, for role discovery).
func (c *Config) TraceDirectories() ([]string, string) { return c.Dirs, c.Pattern }

func hasDir(dirs []string, d string) bool {
	for _, x := range dirs {
		if filepath.Clean(x) == filepath.Clean(d) || (runtime.GOOS == "windows" && strings.EqualFold(filepath.Clean(x), filepath.Clean(d))) {
			return true
		}
	}
	return false
}
