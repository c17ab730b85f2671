package packs

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzParseOverrides feeds arbitrary overrides files, checked against a real
// pack: the loader returns an *Overrides or Problems, never panics.
func FuzzParseOverrides(f *testing.F) {
	p, err := LoadDir("promexport/testdata/pack")
	if err != nil {
		f.Fatal(err)
	}
	if seed, err := os.ReadFile("promexport/testdata/overrides.yaml"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte("format: crmwatch.overrides/v1\noverrides:\n  - host: CRMAPP01\n    rule: '*'\n    enabled: false\n"))
	f.Add([]byte("format: crmwatch.overrides/v1\ngroups: {a: [x]}\noverrides: [{group: b, rule: px.queue, warning: '${nope}'}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"o.yaml": {Data: data}}
		ov, err := ParseOverrides(fsys, "o.yaml", []*Pack{p})
		checkLoaderResult(t, ov != nil, err)
	})
}

// FuzzParseTestFile feeds arbitrary pack unit-test files to their parser.
func FuzzParseTestFile(f *testing.F) {
	seeds, _ := filepath.Glob("crm/tests/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("format: crmwatch.packtest/v1\ntests:\n  - name: x\n    samples: {'\\Memory\\Available MBytes': '1+1x3 _ 5'}\n    eval: [{at: 2m}, {at: 1m}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"t.yaml": {Data: data}}
		tf, err := ParseTestFile(fsys, "t.yaml")
		checkLoaderResult(t, tf != nil, err)
	})
}

// checkLoaderResult asserts the loaders' contract: a value or Problems.
func checkLoaderResult(t *testing.T, got bool, err error) {
	t.Helper()
	if got == (err != nil) {
		t.Fatalf("loader returned a value: %v, and error: %v", got, err)
	}
	if err != nil {
		if _, ok := err.(Problems); !ok {
			t.Fatalf("error %T (%v) is not Problems", err, err)
		}
	}
}
