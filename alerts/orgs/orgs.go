// Package orgs names customer organizations for operators: a directory
// from organization GUID (what CRM traces) to display name. The GUID stays
// the key everywhere; the name is only shown beside it. Names come from a
// file the hosting team keeps (or the simulator writes for the demo):
//
//	# YAML
//	organizations:
//	  2bfb6325-5742-4b2a-b337-af7bb8d60586: Contoso
//
// or CSV lines "GUID,Name" (a header line is allowed).
package orgs

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a names file.
const MaxFileBytes = 16 << 20

// Directory maps organization ids to names. The zero value names nothing.
type Directory struct {
	names map[string]string // lower-case id → name
}

// Name returns the display name of org ("" when unknown). Ids compare
// case-insensitively; a name given as org is returned as is.
func (d *Directory) Name(org string) string {
	if d == nil {
		return ""
	}
	return d.names[strings.ToLower(strings.TrimSpace(org))]
}

// Len is how many organizations are named.
func (d *Directory) Len() int {
	if d == nil {
		return 0
	}
	return len(d.names)
}

// Load reads a names file (.csv, or YAML otherwise).
func Load(path string) (*Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("organization names %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("organization names %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("organization names %s: over %d MiB", path, MaxFileBytes>>20)
	}
	d, err := Parse(data, strings.EqualFold(filepath.Ext(path), ".csv"))
	if err != nil {
		return nil, fmt.Errorf("organization names %s: %w", path, err)
	}
	return d, nil
}

// Parse reads CSV (csv true) or YAML; it reports every bad entry at once.
func Parse(data []byte, csvFormat bool) (*Directory, error) {
	d := &Directory{names: map[string]string{}}
	var errs []error
	add := func(where, id, name string) {
		id, name = strings.TrimSpace(id), strings.TrimSpace(name)
		switch {
		case id == "" || name == "":
			errs = append(errs, fmt.Errorf("%s: an empty organization id or name", where))
		case len(id) > 256 || len(name) > 256:
			errs = append(errs, fmt.Errorf("%s: id or name over 256 bytes", where))
		default:
			if prev, dup := d.names[strings.ToLower(id)]; dup && prev != name {
				errs = append(errs, fmt.Errorf("%s: organization %s named twice (%q and %q)", where, id, prev, name))
			}
			d.names[strings.ToLower(id)] = name
		}
	}
	if csvFormat {
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		r.Comment = '#'
		for line := 1; ; line++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("CSV: %w", err)
			}
			if line == 1 && len(rec) == 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "id") {
				continue
			}
			if len(rec) != 2 {
				errs = append(errs, fmt.Errorf("line %d: want GUID,Name (%d fields)", line, len(rec)))
				continue
			}
			add(fmt.Sprintf("line %d", line), rec[0], rec[1])
		}
		return d, errors.Join(errs...)
	}
	var doc struct {
		Organizations map[string]string `yaml:"organizations"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("YAML: %w (want organizations: {GUID: Name})", err)
	}
	for _, id := range slices.Sorted(mapsKeys(doc.Organizations)) {
		add("organization "+id, id, doc.Organizations[id])
	}
	return d, errors.Join(errs...)
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Write saves names (id → name) as a YAML names file.
func Write(path string, names map[string]string) error {
	data, err := yaml.Marshal(map[string]map[string]string{"organizations": names})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
