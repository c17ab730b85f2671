package perfcounters

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"crmwatch/secret"
)

// BenchmarkProcRead is one read of the Linux source over the testdata
// snapshot: the files of every mapped object parsed and every counter
// computed (rates against the previous snapshot).
func BenchmarkProcRead(b *testing.B) {
	var ps []string
	for obj, cs := range procCounters {
		for c := range cs {
			inst := ""
			switch obj {
			case "processor", "logicaldisk", "physicaldisk", "network interface", "process":
				inst = "(*)"
			case "paging file":
				inst = "(_Total)"
			}
			ps = append(ps, `\`+obj+inst+`\`+c)
		}
	}
	paths := pathsB(b, ps...)
	src := newProcSource(&dirFS{root: "testdata/proc/t0", fs: map[string][2]uint64{"/": {100 << 30, 25 << 30}}})
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	src.now = func() time.Time { at = at.Add(15 * time.Second); return at }
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		rs, err := src.Read(ctx, paths)
		if err != nil {
			b.Fatal(err)
		}
		n = len(rs)
	}
	b.ReportMetric(float64(n), "readings/op")
}

// BenchmarkScrapeParse parses a node_exporter page and applies the
// mappings, the work of one scrape after the HTTP round trip.
func BenchmarkScrapeParse(b *testing.B) {
	page, err := os.ReadFile("testdata/node_exporter.prom")
	if err != nil {
		b.Fatal(err)
	}
	s := newScraper(ScrapeConfig{URL: secret.MustURL("http://x/"), Mappings: nodeMappings}, time.Second)
	at := time.Unix(0, 0)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Second)
		if _, err := s.parse(bytes.NewReader(page), at); err != nil {
			b.Fatal(err)
		}
	}
}
