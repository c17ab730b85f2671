package live

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/tracing/query"
)

const head = "# CRM Tracing\r\n# ComputerName: CRM01\r\n"

func rec(n, level, msg string) string {
	return "[2024-05-01 10:00:0" + n + ".000] Process: w3wp |Organization:o |Thread: 1 |Category: Platform.Sql |User: u |Level: " + level + " |ReqId: r | A.B\r\n>" + msg + "\r\n"
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestPrintEverythingThenExit(t *testing.T) {
	cases := []struct {
		name   string
		filter query.Filter
		json   bool
		want   []string // substrings in order
		not    []string
	}{
		{"all", query.Filter{}, false, []string{"# file: ", "one", "two", "three"}, nil},
		{"level filter", query.Filter{Level: "error"}, false, []string{"two"}, []string{"one", "three"}},
		{"json", query.Filter{Level: "error"}, true, []string{`"level":"Error"`, `"message":"two"`}, []string{"one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-1.log")
			if err := os.WriteFile(p, []byte(head+rec("1", "Info", "one")+rec("2", "Error", "two")+rec("3", "Verbose", "three")), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := tc.filter.Compile(time.Now(), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			var out syncBuf
			for _, path := range []string{dir, p} { // a folder or one file
				out.b.Reset()
				res, err := Run(context.Background(), Options{Path: path, Filter: m, JSON: tc.json, Out: &out})
				if err != nil {
					t.Fatal(err)
				}
				got := out.String()
				at := 0
				for _, w := range tc.want {
					i := strings.Index(got[at:], w)
					if i < 0 {
						t.Fatalf("output lacks %q after byte %d:\n%s", w, at, got)
					}
					at += i + len(w)
				}
				for _, n := range tc.not {
					if strings.Contains(got, n) {
						t.Errorf("output has filtered %q:\n%s", n, got)
					}
				}
				if res.Records != 3 {
					t.Errorf("records = %d, want 3", res.Records)
				}
				if tc.json {
					for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
						if !json.Valid([]byte(line)) {
							t.Errorf("not JSON: %s", line)
						}
					}
				}
			}
		})
	}
}

func TestFollowStartsAtEndAndFollowsRollOver(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-1.log")
	if err := os.WriteFile(first, []byte(head+rec("1", "Error", "old")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Path: dir, Follow: true, Out: &out, IdleFlush: 30 * time.Millisecond})
		done <- err
	}()
	// Appending until the record shows proves the tailer started; the
	// first appends may land before its first scan (then they count as
	// history and are skipped).
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(out.String(), "new"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no live record printed:\n%s", out.String())
		}
		appendTo(t, first, rec("4", "Error", "new"))
		waitFor(t, 200*time.Millisecond, func() bool { return strings.Contains(out.String(), "new") })
	}
	second := filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-2.log")
	appendTo(t, second, head+rec("5", "Error", "rolled"))
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "rolled") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "old") {
		t.Errorf("-f printed history:\n%s", out.String())
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or d passes (not a failure: callers
// decide).
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); !cond() && time.Now().Before(end); {
		<-tick.C
	}
}
