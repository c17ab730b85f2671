// Package crm is the built-in Microsoft Dynamics CRM management pack: its
// YAML files are embedded in the binary. The counter rules (rules/gen-*.yaml)
// and their unit tests are generated from the PAL threshold files; the
// trace, event-log, availability and correlation rules are written by hand.
package crm

import (
	"embed"
	"io/fs"

	"crmwatch/packs"
)

//go:generate go run ./internal/palgen -pal testdata/pal -out .

// FS holds the pack (pack.yaml, rules/, collect/, dashboards/) and its unit
// tests (tests/).
//
//go:embed pack.yaml rules/*.yaml tests/*.yaml collect/*.yaml dashboards/*.yaml
var FS embed.FS

// Dir is the label the built-in pack is loaded under.
const Dir = "builtin:crm"

// Load loads the built-in pack.
func Load() (*packs.Pack, error) {
	return packs.Load(FS, Dir)
}

// Tests returns the pack's unit-test files by name (tests/*.yaml).
func Tests() (fs.FS, []string, error) {
	names, err := fs.Glob(FS, "tests/*.yaml")
	return FS, names, err
}
