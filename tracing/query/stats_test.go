package query

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/tracing/query/internal/tracegen"
)

func TestStatsOnGoldenCases(t *testing.T) {
	ins, err := ExpandInputs([]string{"../testdata/header-crm2011/input.log", "../testdata/thread-variants/input.log",
		"../testdata/crm40-error-report-crlf/input.log", "../testdata/kb-placeholders/input.log"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Compute(context.Background(), ins, StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Records != 7 || st.Malformed != 2 {
		t.Errorf("files=%d records=%d malformed=%d, want 4, 7, 2", st.Files, st.Records, st.Malformed)
	}
	wantLevels := map[string]int64{"error": 3, "warning": 1, "info": 1, "verbose": 2}
	for k, v := range wantLevels {
		if st.ByLevel[k] != v {
			t.Errorf("by_level[%s] = %d, want %d (all: %v)", k, st.ByLevel[k], v, st.ByLevel)
		}
	}
	if st.ByCategory["Platform.Sql"] != 2 || st.ByProcess["w3wp"] != 5 || st.ByProcess["OUTLOOK"] != 1 {
		t.Errorf("by_category=%v by_process=%v", st.ByCategory, st.ByProcess)
	}
	// Requests: 6a3c… (2 records, 3 ms apart) and 0d4e… (1 record).
	if st.Requests != 2 || len(st.SlowestRequests) != 2 {
		t.Fatalf("requests=%d slowest=%+v", st.Requests, st.SlowestRequests)
	}
	if s := st.SlowestRequests[0]; s.ReqID != "6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e2a11" || s.DurationMS != 3 || s.Records != 2 {
		t.Errorf("slowest = %+v", s)
	}
	if !st.First.Equal(time.Date(2010, 5, 21, 10, 49, 35, 300e6, time.UTC)) || !st.Last.Equal(time.Date(2015, 12, 8, 9, 14, 2, 120e6, time.UTC)) {
		t.Errorf("first=%v last=%v", st.First, st.Last)
	}
	// The two CRM 4.0 error reports share category and operation but not
	// message shape; the Outlook error is a third group.
	if len(st.TopErrors) != 3 {
		t.Errorf("top_errors = %+v", st.TopErrors)
	}
}

// TestStatsChunksAgree checks that splitting files into chunks at record
// boundaries gives the same answer as reading them whole.
func TestStatsChunksAgree(t *testing.T) {
	dir := t.TempDir()
	if _, err := tracegen.Generate(tracegen.Options{Dir: dir, Bytes: 3 << 20, FileBytes: 2 << 20, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	ins, err := ExpandInputs([]string{dir})
	if err != nil || len(ins) != 2 {
		t.Fatalf("inputs %v, %v", ins, err)
	}
	whole, err := Compute(context.Background(), ins, StatsOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := Compute(context.Background(), ins, StatsOptions{Workers: 3, ChunkBytes: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(chunked)
	if string(a) != string(b) {
		t.Errorf("chunked stats differ:\nwhole   %s\nchunked %s", a, b)
	}
	if whole.Records < 5000 || whole.Requests < 200 || whole.ByLevel["error"] == 0 {
		t.Errorf("implausible stats: %s", a)
	}
}

func TestStatsRequestDetailCap(t *testing.T) {
	dir := t.TempDir()
	if _, err := tracegen.Generate(tracegen.Options{Dir: dir, Bytes: 1 << 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	ins, _ := ExpandInputs([]string{dir})
	full, err := Compute(context.Background(), ins, StatsOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	capped, err := Compute(context.Background(), ins, StatsOptions{Workers: 1, MaxRequestDetail: 10})
	if err != nil {
		t.Fatal(err)
	}
	if capped.Requests != full.Requests || capped.RequestsWithoutDetail != full.Requests-10 {
		t.Errorf("capped requests=%d without detail=%d, full=%d", capped.Requests, capped.RequestsWithoutDetail, full.Requests)
	}
}

func TestStatsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(p, []byte("[2020-01-01 00:00:00.0] Process: w3wp |Level: Info | A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ins, _ := ExpandInputs([]string{p})
	if _, err := Compute(ctx, ins, StatsOptions{}); err == nil {
		t.Error("want a cancellation error")
	}
}
