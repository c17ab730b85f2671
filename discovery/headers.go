package discovery

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"crmwatch/event"
	"crmwatch/tracing"
)

// Bounds of the header scan: the newest files of each directory, the
// beginning of each (the header block is a few hundred bytes).
const (
	maxHeaderFiles = 16
	headerBytes    = 8 << 10
)

// serverRoleAliases maps role names of CRM's own configuration (the
// MSCRM_CONFIG Server.Roles bits, crm-domain §1.5) to crmwatch's roles.
// The exact text CRM writes after "# ServerRole:" is not documented; these
// names are the closest evidence, so they are accepted besides crmwatch's
// own (which the simulator writes).
var serverRoleAliases = map[string]event.Role{
	"webservice":       event.RoleSdkServer, // Organization Web Service
	"emailservice":     event.RoleEmailRouter,
	"srsdataconnector": event.RoleReportingServer,
}

// headerRoles reads the ServerRole header of the newest trace files in
// dirs.
func headerRoles(dirs []string, pattern string) ([]Finding, []string) {
	if pattern == "" {
		pattern = "*.log"
	}
	var out []Finding
	var notes []string
	unknown := map[string]bool{}
	for _, dir := range dirs {
		files, err := newestFiles(dir, pattern)
		if err != nil {
			notes = append(notes, fmt.Sprintf("trace directory %s: %v", dir, err))
			continue
		}
		for _, f := range files {
			h, err := readHeader(f)
			if err != nil || h.ServerRole == "" {
				continue
			}
			for _, name := range splitRoles(h.ServerRole) {
				r, ok := roleName(name)
				if !ok {
					unknown[name] = true
					continue
				}
				out = append(out, Finding{Role: r, How: "trace header ServerRole of " + filepath.Base(f)})
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(unknown)) {
		notes = append(notes, fmt.Sprintf("trace header ServerRole %q is not a CRM role crmwatch knows (ignored)", n))
	}
	return out, notes
}

// newestFiles lists the maxHeaderFiles most recently written files of dir
// matching pattern.
func newestFiles(dir, pattern string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		path string
		mod  int64
	}
	var fs []file
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if ok, _ := filepath.Match(pattern, e.Name()); !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		fs = append(fs, file{filepath.Join(dir, e.Name()), info.ModTime().UnixNano()})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].mod > fs[j].mod })
	out := make([]string, 0, min(len(fs), maxHeaderFiles))
	for _, f := range fs[:min(len(fs), maxHeaderFiles)] {
		out = append(out, f.path)
	}
	return out, nil
}

func readHeader(path string) (tracing.Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return tracing.Header{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, headerBytes))
	if err != nil {
		return tracing.Header{}, err
	}
	return tracing.ParseHeader(b), nil
}

// splitRoles splits a ServerRole value on commas, semicolons and spaces.
func splitRoles(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' })
}

func roleName(name string) (event.Role, bool) {
	if r, err := event.ParseRole(name); err == nil {
		return r, true
	}
	r, ok := serverRoleAliases[strings.ToLower(name)]
	return r, ok
}
