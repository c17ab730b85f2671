package packs

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary pack.yaml and rules file contents to the loader:
// it must return a pack or Problems, never panic or hang. Seeds are the test
// packs and the built-in CRM pack.
func FuzzLoad(f *testing.F) {
	packYAML, _ := os.ReadFile("testdata/minimal/pack.yaml")
	seeds, _ := filepath.Glob("testdata/minimal/rules/*.yaml")
	crm, _ := filepath.Glob("crm/rules/*.yaml")
	for _, s := range append(seeds, crm...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packYAML, data)
	}
	if crmPack, err := os.ReadFile("crm/pack.yaml"); err == nil {
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
