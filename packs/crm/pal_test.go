package crm

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// TestEveryPALThresholdHasARule reads the PAL files (shared/reference/pal,
// copied with their licence into testdata/pal) and asserts every counter
// with a THRESHOLD has a rule.
func TestEveryPALThresholdHasARule(t *testing.T) {
	files, _ := filepath.Glob("testdata/pal/*.xml")
	if len(files) != 3 {
		t.Fatalf("testdata/pal holds %d PAL files, want the 3 of shared/reference/pal", len(files))
	}
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	counters := map[string]bool{}
	for _, r := range p.Rules {
		if r.Threshold != nil {
			counters[r.Threshold.Counter] = true
		}
		if r.Trend != nil {
			counters[r.Trend.Counter] = true
		}
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pf struct {
			Analyses []struct {
				Primary    string     `xml:"PRIMARYDATASOURCE,attr"`
				Thresholds []struct{} `xml:"THRESHOLD"`
			} `xml:"ANALYSIS"`
		}
		if err := xml.Unmarshal(data, &pf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, a := range pf.Analyses {
			if len(a.Thresholds) == 0 {
				continue
			}
			n++
			if !counters[a.Primary] {
				t.Errorf("%s: %s has a PAL threshold but no rule in packs/crm", filepath.Base(f), a.Primary)
			}
		}
	}
	if n < 70 {
		t.Errorf("only %d PAL thresholds found; the files changed?", n)
	}
}
