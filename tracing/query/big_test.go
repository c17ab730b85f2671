package query

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"crmwatch/tracing/query/internal/tracegen"
)

// TestStats1GB measures `trace stats` on 1 GiB of generated trace files:
// wall time and the maximum resident memory of a child process that does
// only the stats (this test binary re-run as a helper). It is opt-in:
//
//	CRMWATCH_STATS_BIG=1 go test ./tracing/query -run TestStats1GB -v
//
// CRMWATCH_STATS_DIR reuses (or keeps) generated files; CRMWATCH_STATS_MB
// changes the size.
func TestStats1GB(t *testing.T) {
	if os.Getenv("CRMWATCH_STATS_BIG") == "" {
		t.Skip("set CRMWATCH_STATS_BIG=1 to generate 1 GiB of traces and measure trace stats")
	}
	mb, _ := strconv.ParseInt(os.Getenv("CRMWATCH_STATS_MB"), 10, 64)
	if mb <= 0 {
		mb = 1024
	}
	dir := os.Getenv("CRMWATCH_STATS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if ins, _ := ExpandInputs([]string{dir}); TotalSize(ins) < mb<<20 {
		start := time.Now()
		if _, err := tracegen.Generate(tracegen.Options{Dir: dir, Bytes: mb << 20, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d MiB in %v", mb, time.Since(start))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStatsHelper$")
	cmd.Env = append(os.Environ(), "CRMWATCH_STATS_HELPER="+dir)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	rss := maxRSSBytes(cmd.ProcessState)
	var st Stats
	if err := json.Unmarshal(out[:len(out)-len("PASS\n")], &st); err != nil {
		t.Fatalf("helper output: %v\n%s", err, out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	t.Logf("stats on %d MiB (%d files, %d records, %d requests): wall %v, CPU %v (user+sys), max RSS %.1f MB, %.0f MB/s",
		st.Bytes>>20, st.Files, st.Records, st.Requests, wall, cpu, float64(rss)/1e6, float64(st.Bytes)/1e6/wall.Seconds())
	if st.Bytes < mb<<20 || st.Records == 0 {
		t.Errorf("read %d bytes, %d records", st.Bytes, st.Records)
	}
	if rss > 100e6 {
		t.Errorf("max RSS %.1f MB, want < 100 MB", float64(rss)/1e6)
	}
}

// TestStatsHelper is the child process of TestStats1GB.
func TestStatsHelper(t *testing.T) {
	dir := os.Getenv("CRMWATCH_STATS_HELPER")
	if dir == "" {
		t.Skip("helper process for TestStats1GB")
	}
	ins, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Compute(context.Background(), ins, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	fmt.Println(string(b))
}

func BenchmarkStats(b *testing.B) {
	dir := b.TempDir()
	if _, err := tracegen.Generate(tracegen.Options{Dir: dir, Bytes: 32 << 20, FileBytes: 16 << 20, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	ins, _ := ExpandInputs([]string{dir})
	b.SetBytes(TotalSize(ins))
	b.ReportAllocs()
	var records int64
	for b.Loop() {
		st, err := Compute(context.Background(), ins, StatsOptions{})
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
