package dashboards_test

import (
	"os"
	"testing"
	"testing/fstest"

	"crmwatch/dashboards"
	"crmwatch/packs"
)

// FuzzLoadDashboards feeds arbitrary dashboards files to the pack loader
// and Build: a pack with dashboards or packs.Problems, never a panic.
func FuzzLoadDashboards(f *testing.F) {
	if seed, err := os.ReadFile("../packs/crm/dashboards/crm.yaml"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte("dashboards:\n  - {id: a, title: A, variables: [host], panels: [{title: x, queries: [{expr: 'sum(crmwatch_alerts_open)'}]}]}\n"))
	f.Add([]byte("dashboards:\n  - {id: a, title: A, panels: [{title: x, counters: ['\\\\Memory\\\\Available MBytes']}, {title: x, rules: [r]}]}\n"))
	head := []byte("format: crmwatch.pack/v1\nname: p\nversion: 1.0.0\ndescription: d\nroles: [AppServer]\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"pack.yaml": {Data: head}, "dashboards/d.yaml": {Data: data}}
		p, err := packs.Load(fsys, "p")
		if err != nil {
			if _, ok := err.(packs.Problems); !ok {
				t.Fatalf("Load: error %T (%v) is not Problems", err, err)
			}
			return
		}
		ds, err := dashboards.Build([]*packs.Pack{p}, nil)
		if (ds == nil) == (err == nil) && len(p.Dashboards) > 0 {
			t.Fatalf("Build returned %d dashboards and error %v", len(ds), err)
		}
		if err != nil {
			if _, ok := err.(packs.Problems); !ok {
				t.Fatalf("Build: error %T (%v) is not Problems", err, err)
			}
		}
	})
}
