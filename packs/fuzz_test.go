package packs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary pack.yaml and rules file contents to the loader:
// it must return a pack or Problems, never panic or hang. Seeds are the test
// packs and excerpts of the built-in CRM pack.
//
// The built-in rule files themselves (up to 98 KB) are not seeds. Loading
// is linear in file size (measured up to 4,000 rules, about 0.2 ms per rule),
// but one such file costs about 30 ms, and more under coverage
// instrumentation. When a mutation finds new coverage, the worker minimizes
// it, one full load per attempt, for up to -fuzzminimizetime (default 60 s).
// The fuzzer counts no execs while it does that (golang/go#48820, #51484).
// Seeded with the whole files, it showed 17 execs and then 0 execs/s for a
// full minute. With -fuzzminimizetime 0 the same run did about 2,000
// execs/s. The seeds are therefore the first rules of each file
// (seedExcerpt). Run with -fuzzminimizetime 5s to keep minimization short:
// inputs the fuzzer grew itself still take seconds to minimize.
func FuzzLoad(f *testing.F) {
	packYAML, _ := os.ReadFile("testdata/minimal/pack.yaml")
	crmPack, _ := os.ReadFile("crm/pack.yaml")
	crmHead := crmPackHead(crmPack)
	seeds, _ := filepath.Glob("testdata/minimal/rules/*.yaml")
	crm, _ := filepath.Glob("crm/rules/*.yaml")
	for _, s := range append(seeds, crm...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		data = seedExcerpt(data, 3)
		f.Add(packYAML, data)
		if crmHead != nil {
			f.Add(crmHead, data)
		}
	}
	if crmPack != nil {
		f.Add(crmPack, []byte("rules: []\n"))
	}
	f.Add([]byte(goodPack), []byte("rules:\n"+goodRule))
	f.Fuzz(func(t *testing.T, packData, rulesData []byte) {
		fsys := fstest.MapFS{
			"pack.yaml":    {Data: packData},
			"rules/a.yaml": {Data: rulesData},
		}
		p, err := Load(fsys, "fuzz")
		if (p == nil) == (err == nil) {
			t.Fatalf("Load returned pack %v and error %v", p != nil, err)
		}
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error %T is not Problems", err)
			}
		}
	})
}

// seedExcerpt keeps the first n rules of a rules file (items of the
// top-level rules: list, written "  - id:"), so a fuzz seed stays small.
func seedExcerpt(data []byte, n int) []byte {
	const item = "\n  - id:"
	off := 0
	for range n + 1 { // the first "\n  - id:" starts the first rule
		i := bytes.Index(data[off+1:], []byte(item))
		if i < 0 {
			return data
		}
		off += 1 + i
	}
	return data[:off+1]
}

// crmPackHead is the built-in pack.yaml up to its dashboards (which name
// rules an excerpt does not hold): metadata, roles, parameters, collect.
func crmPackHead(data []byte) []byte {
	if i := bytes.Index(data, []byte("\ndashboards:")); i >= 0 {
		return data[:i+1]
	}
	return data
}

// The excerpts of the built-in rule files are small and, with the head of
// the built-in pack.yaml, load cleanly, so the fuzzer starts from valid
// packs that use parameters.
func TestFuzzSeedExcerpts(t *testing.T) {
	crmPack, err := os.ReadFile("crm/pack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crmPack = crmPackHead(crmPack)
	files, _ := filepath.Glob("crm/rules/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		ex := seedExcerpt(data, 3)
		if len(ex) > 8<<10 {
			t.Errorf("%s: excerpt is %d bytes", name, len(ex))
		}
		p, err := Load(fstest.MapFS{"pack.yaml": {Data: crmPack}, "rules/a.yaml": {Data: ex}}, "seed")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(p.Rules) != 3 {
			t.Errorf("%s: %d rules in the excerpt, want 3", name, len(p.Rules))
		}
	}
}
