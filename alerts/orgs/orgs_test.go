package orgs

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseYAMLAndCSV(t *testing.T) {
	y, err := Parse([]byte("organizations:\n  2BFB6325-5742-4b2a-b337-af7bb8d60586: Contoso\n  f8e5: Litware\n"), false)
	if err != nil || y.Name("2bfb6325-5742-4B2A-b337-af7bb8d60586") != "Contoso" || y.Name("nope") != "" || y.Len() != 2 {
		t.Fatalf("yaml: %v %+v", err, y)
	}
	c, err := Parse([]byte("id,name\n# comment\n2bfb,Contoso\n f8e5 , Litware \n"), true)
	if err != nil || c.Name("2bfb") != "Contoso" || c.Name("f8e5") != "Litware" {
		t.Fatalf("csv: %v %+v", err, c)
	}
	_, err = Parse([]byte("a,Contoso\nb\n,x\na,Other\n"), true)
	for _, part := range []string{"line 2", "line 3", "named twice"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("want %q in %v", part, err)
		}
	}
	if _, err := Parse([]byte("organizations: [1, 2]"), false); err == nil {
		t.Error("a list accepted")
	}
	var nilDir *Directory
	if nilDir.Name("x") != "" {
		t.Error("nil directory")
	}
}

func TestWriteLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "orgs.yaml")
	if err := Write(p, map[string]string{"g1": "Contoso"}); err != nil {
		t.Fatal(err)
	}
	d, err := Load(p)
	if err != nil || d.Name("g1") != "Contoso" {
		t.Fatalf("%v %+v", err, d)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("organizations:\n  a: Contoso\n"), false)
	f.Add([]byte("id,name\na,b\n"), true)
	f.Add([]byte("\"a\nb\",c"), true)
	f.Fuzz(func(t *testing.T, data []byte, csvFormat bool) {
		d, err := Parse(data, csvFormat)
		if err == nil && d == nil {
			t.Fatal("nil directory without error")
		}
	})
}
