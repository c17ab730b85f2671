package tail

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRecordsAreCompleteAndCarryHeaderAndOffset(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	var got []Record
	var data []byte
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.IdleFlush = time.Hour
		o.Handler = func(ctx context.Context, b Batch) error {
			for _, r := range b.Records {
				r.Data = append([]byte(nil), r.Data...)
				got = append(got, r)
			}
			return c.handle(ctx, b)
		}
	})
	p := logPath(dir, "CRM01-w3wp-CRMWeb-20240501-1.log")
	appendFile(t, p, header("a")+record("a0")+record("a1")[:40])
	scan(t, tl)
	c.expect(t) // a1's head line is still being written: a0 may not be complete
	appendFile(t, p, record("a1")[40:]+records("a", 2, 3))
	scan(t, tl)
	c.expect(t, "a0", "a1") // a2 has no successor and the file is not idle
	data, _ = os.ReadFile(p)
	for _, r := range got {
		if !strings.HasPrefix(string(data[r.Offset:]), string(r.Data)) {
			t.Errorf("record %s: Data does not match the file at offset %d", idOf(r.Data), r.Offset)
		}
		if strings.HasSuffix(string(r.Data), "\n") {
			t.Errorf("record %s keeps its line terminator", idOf(r.Data))
		}
	}
	for fp, h := range c.headers {
		if h != header("a") {
			t.Errorf("header of %s = %q, want the # preamble", fp, h)
		}
	}
}

func TestIdleFlushEndsLastRecord(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, "", c, nil)
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 3))
	scan(t, tl)
	c.expect(t, ids("a", 0, 3)...)
}

// TestRotation covers every way a trace file moves on, each followed by
// more writes, and asserts every record exactly once.
func TestRotation(t *testing.T) {
	cases := []struct {
		name      string
		rotate    func(t *testing.T, dir string) // after a0..a9 were written to a.log
		next      string                         // file the writer continues in
		truncated float64
	}{
		{"rename out of pattern, new file", func(t *testing.T, dir string) {
			mustRename(t, logPath(dir, "a.log"), logPath(dir, "a.log.1"))
		}, "a.log", 0},
		{"rename inside pattern, new file", func(t *testing.T, dir string) {
			mustRename(t, logPath(dir, "a.log"), logPath(dir, "a-old.log"))
		}, "a.log", 0},
		{"size roll-over -1 to -2", func(t *testing.T, dir string) {}, "a-2.log", 0},
		{"date change", func(t *testing.T, dir string) {}, "CRM01-w3wp-CRMWeb-20240502-1.log", 0},
		{"delete", func(t *testing.T, dir string) {
			if err := os.Remove(logPath(dir, "a.log")); err != nil {
				t.Fatal(err)
			}
		}, "a.log", 0},
		{"copytruncate, copy outside pattern", func(t *testing.T, dir string) {
			copyFile(t, logPath(dir, "a.log"), logPath(dir, "a.log.1"))
			mustTruncate(t, logPath(dir, "a.log"))
		}, "a.log", 1},
		{"copytruncate, copy inside pattern", func(t *testing.T, dir string) {
			copyFile(t, logPath(dir, "a.log"), logPath(dir, "a-1.log"))
			mustTruncate(t, logPath(dir, "a.log"))
		}, "a.log", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newCounter(t)
			reg := prometheus.NewRegistry()
			tl := newTestTailer(t, dir, t.TempDir(), c, func(o *Options) { o.Registerer = reg })
			first := logPath(dir, "a.log")
			appendFile(t, first, header("a")+records("a", 0, 5))
			scan(t, tl) // a0..a4 read
			// Written but not yet read when the rotation happens: the
			// tailer must still get them (drain, copy, or rename).
			appendFile(t, first, records("a", 5, 10))
			if tc.name == "copytruncate, copy outside pattern" {
				scan(t, tl) // a copy outside the pattern cannot be followed: read first
			}
			tc.rotate(t, dir)
			appendFile(t, logPath(dir, tc.next), header("b")+records("b", 0, 10))
			scan(t, tl)
			appendFile(t, logPath(dir, tc.next), records("b", 10, 15))
			scan(t, tl)
			c.expect(t, append(ids("a", 0, 10), ids("b", 0, 15)...)...)
			if got := testutil.ToFloat64(tl.m.truncations); got != tc.truncated {
				t.Errorf("truncations = %v, want %v", got, tc.truncated)
			}
			if got := testutil.ToFloat64(tl.m.missed); got != 0 {
				t.Errorf("possibly missed bytes = %v, want 0", got)
			}
		})
	}
}

func TestTruncationCountsPossiblyMissedBytes(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, "", c, nil)
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 3))
	scan(t, tl)
	lost := records("a", 3, 5)
	appendFile(t, p, lost)
	// The tailer sees the new size, then the file is truncated before the
	// bytes are read and nothing kept a copy in the pattern.
	fi, _ := os.Stat(p)
	tl.byPath[p].size = fi.Size()
	mustTruncate(t, p)
	appendFile(t, p, header("b")+records("b", 0, 2))
	scan(t, tl)
	c.expect(t, append(ids("a", 0, 3), ids("b", 0, 2)...)...)
	if got, want := testutil.ToFloat64(tl.m.missed), float64(len(lost)); got != want {
		t.Errorf("possibly missed bytes = %v, want %v", got, want)
	}
}

func TestOversizeRecordIsCappedAndCounted(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	var longest int
	var truncated int
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.MaxRecordBytes = 4096
		o.Handler = func(ctx context.Context, b Batch) error {
			for _, r := range b.Records {
				longest = max(longest, len(r.Data))
				if r.Truncated {
					truncated++
				}
			}
			return c.handle(ctx, b)
		}
	})
	huge := strings.Repeat(">"+strings.Repeat("x", 999)+"\n", 3000) // 3 MB body
	oneLine := ">" + strings.Repeat("y", 1<<20) + "\n"              // a 1 MiB line
	appendFile(t, logPath(dir, "a.log"), header("a")+record("a0")+huge+record("a1")+oneLine+record("a2"))
	scan(t, tl)
	c.expect(t, "a0", "a1", "a2")
	if longest > 4096 {
		t.Errorf("longest record %d bytes, want ≤ 4096", longest)
	}
	if truncated != 2 || testutil.ToFloat64(tl.m.oversize) != 2 {
		t.Errorf("truncated = %d (metric %v), want 2", truncated, testutil.ToFloat64(tl.m.oversize))
	}
}

func TestStartAtEndOnFirstRunOnly(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	c := newCounter(t)
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 5)+record("a5")[:50])
	tl := newTestTailer(t, dir, state, c, func(o *Options) { o.StartAtEnd = true })
	scan(t, tl)
	appendFile(t, logPath(dir, "a.log"), record("a5")[50:]+records("a", 6, 8))
	scan(t, tl)
	tl.closeAll()
	c.expect(t, "a6", "a7") // a5's head was before the start: dropped, not a fragment
	if h := c.headers[tl.readers[0].id]; h != header("a") {
		t.Errorf("header = %q, want the preamble read from the file start", h)
	}
	// A restart with state reads files it has no checkpoint for from 0.
	appendFile(t, logPath(dir, "b.log"), header("b")+records("b", 0, 2))
	tl2 := newTestTailer(t, dir, state, c, func(o *Options) { o.StartAtEnd = true })
	scan(t, tl2)
	c.expect(t, "a6", "a7", "b0", "b1")
}

func TestMetricsPreInitialised(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTestTailer(t, t.TempDir(), "", newCounter(t), func(o *Options) { o.Registerer = reg })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, mf := range mfs {
		names[mf.GetName()] = len(mf.GetMetric())
	}
	for _, n := range []string{"crmwatch_tail_files_watched", "crmwatch_tail_read_bytes_total", "crmwatch_tail_records_total",
		"crmwatch_tail_truncations_total", "crmwatch_tail_possibly_missed_bytes_total", "crmwatch_tail_oversize_records_total",
		"crmwatch_tail_late_continuations_total", "crmwatch_tail_nul_bytes_skipped_total"} {
		if names[n] != 1 {
			t.Errorf("metric %s not exported before any work", n)
		}
	}
	if names["crmwatch_tail_errors_total"] != len(errorOps) {
		t.Errorf("crmwatch_tail_errors_total has %d series, want %d", names["crmwatch_tail_errors_total"], len(errorOps))
	}
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{Pattern: "[", StateDir: ""})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"no directory", "pattern", "StartsRecord", "Handler"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func mustTruncate(t *testing.T, p string) {
	t.Helper()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
