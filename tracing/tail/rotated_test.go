package tail

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCopytruncateWhileStopped: the agent stops after reading a0..a4; the
// writer adds a5..a9; the file is copied and truncated (copytruncate) and
// the writer goes on with b0..b2. At the restart the tailer sees the file
// holds other bytes than its checkpoint: it counts the truncation, and
// either reads a5..a9 from the rotated copy (a rotated pattern names where
// it goes) or counts them as possibly missed — exactly, when the copy is
// in the followed folder under a name outside the pattern — and logs it
// once with the file's name.
func TestCopytruncateWhileStopped(t *testing.T) {
	cases := []struct {
		name    string
		copyTo  func(dir, archive string) string
		rotated func(archive string) []string
		want    []string // a5..a9 recovered?
		missed  bool     // a5..a9 counted as possibly missed
		logs    []string
	}{
		{"copy in the folder, outside the pattern, no rotated pattern",
			func(dir, _ string) string { return logPath(dir, "a.log.1") }, nil,
			nil, true, []string{"a.log", "a.log.1", "no rotated pattern names"}},
		{"rotated pattern names the copy",
			func(dir, _ string) string { return logPath(dir, "a.log.1") }, func(string) []string { return []string{"*.log.1"} },
			ids("a", 5, 10), false, []string{"from its rotated copy", "a.log.1"}},
		{"copy in another folder, absolute rotated pattern",
			func(_, archive string) string { return filepath.Join(archive, "a-20240501.log") },
			func(archive string) []string { return []string{filepath.Join(archive, "*.log")} },
			ids("a", 5, 10), false, []string{"from its rotated copy"}},
		{"copy in another folder, not searched",
			func(_, archive string) string { return filepath.Join(archive, "a-20240501.log") }, nil,
			nil, false, []string{"a.log", "lost unless a rotated pattern"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, state, archive := t.TempDir(), t.TempDir(), t.TempDir()
			var rotated []string
			if tc.rotated != nil {
				rotated = tc.rotated(archive)
			}
			c := newCounter(t)
			p := logPath(dir, "a.log")
			appendFile(t, p, header("a")+records("a", 0, 5))
			tl := newTestTailer(t, dir, state, c, func(o *Options) { o.RotatedPatterns = rotated })
			scan(t, tl)
			tl.closeAll()
			// While the agent is stopped.
			lost := records("a", 5, 10)
			appendFile(t, p, lost)
			copyFile(t, p, tc.copyTo(dir, archive))
			mustTruncate(t, p)
			appendFile(t, p, records("b", 0, 3))

			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			tl2 := newTestTailer(t, dir, state, c, func(o *Options) {
				o.RotatedPatterns, o.Registerer = rotated, reg
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			scan(t, tl2)
			scan(t, tl2)
			tl2.closeAll()
			c.expect(t, append(append(ids("a", 0, 5), tc.want...), ids("b", 0, 3)...)...)
			for _, id := range tc.want { // read from the copy, named as the file they were written to
				if c.name(id) != p {
					t.Errorf("record %s recovered from the copy came with Name %q, want %q", id, c.name(id), p)
				}
			}
			if n := testutil.ToFloat64(tl2.m.truncations); n != 1 {
				t.Errorf("truncations = %v, want 1", n)
			}
			wantMissed := 0.0
			if tc.missed {
				wantMissed = float64(len(lost))
			}
			if n := testutil.ToFloat64(tl2.m.missed); n != wantMissed {
				t.Errorf("possibly missed bytes = %v, want %v", n, wantMissed)
			}
			for _, w := range tc.logs {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log does not mention %q:\n%s", w, logs.String())
				}
			}
			if n := strings.Count(logs.String(), "while the agent was stopped"); tc.want == nil && n != 1 {
				t.Errorf("the truncation was logged %d times, want once:\n%s", n, logs.String())
			}
			// A third start has nothing more to say about it.
			logs.Reset()
			tl3 := newTestTailer(t, dir, state, c, func(o *Options) {
				o.RotatedPatterns = rotated
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			scan(t, tl3)
			tl3.closeAll()
			if strings.Contains(logs.String(), "truncated") {
				t.Errorf("the next start logs the truncation again:\n%s", logs.String())
			}
			c.expect(t, append(append(ids("a", 0, 5), tc.want...), ids("b", 0, 3)...)...)
		})
	}
}

// TestRewrittenWithSameStartWhileStopped: truncated while stopped and
// rewritten with the same first bytes, the file is shorter than its
// checkpoint: it is read as a new lineage (a new id, so receivers that keep
// offsets per id do not take its records for ones seen), and the old
// lineage's last records come from the rotated copy.
func TestRewrittenWithSameStartWhileStopped(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	c := newCounter(t)
	small := func(o *Options) { o.FingerprintSize, o.RotatedPatterns = 24, []string{"*.1"} } // within the shared header
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 5))
	tl := newTestTailer(t, dir, state, c, small)
	scan(t, tl)
	oldID := tl.byPath[p].id
	tl.closeAll()
	appendFile(t, p, records("a", 5, 8))
	copyFile(t, p, p+".1")
	if err := os.WriteFile(p, []byte(header("a")+records("b", 0, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	tl2 := newTestTailer(t, dir, state, c, small)
	scan(t, tl2)
	scan(t, tl2)
	c.expect(t, append(ids("a", 0, 8), ids("b", 0, 2)...)...)
	if r := tl2.byPath[p]; r == nil || r.id == oldID {
		t.Errorf("the rewritten file kept the old lineage id %s", oldID)
	}
}

// TestCopytruncateWhileRunningRecoversFromRotatedCopy: the file grows and
// is copied and truncated before the tailer read the growth; with a rotated
// pattern the unread records come from the copy, none is missed.
func TestCopytruncateWhileRunningRecoversFromRotatedCopy(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, t.TempDir(), c, func(o *Options) { o.RotatedPatterns = []string{"*.log.1"} })
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 3))
	scan(t, tl)
	appendFile(t, p, records("a", 3, 6))
	fi, _ := os.Stat(p)
	tl.byPath[p].size = fi.Size() // seen grown, not read yet
	copyFile(t, p, p+".1")
	mustTruncate(t, p)
	appendFile(t, p, records("b", 0, 2))
	scan(t, tl)
	c.expect(t, append(ids("a", 0, 6), ids("b", 0, 2)...)...)
	if n := testutil.ToFloat64(tl.m.missed); n != 0 {
		t.Errorf("possibly missed bytes = %v, want 0", n)
	}
}

// TestCopytruncateOfUnseenGrowthRecoversFromRotatedCopy: records written
// after the tailer's last look and before the truncation were never seen
// growing; they are in the copy only and are read from it (found by the
// chaos suite, which lost 8 such records under load).
func TestCopytruncateOfUnseenGrowthRecoversFromRotatedCopy(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, t.TempDir(), c, func(o *Options) { o.RotatedPatterns = []string{"*.log.1"} })
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 3))
	scan(t, tl)
	appendFile(t, p, records("a", 3, 6)) // not seen: no scan before the rotation
	copyFile(t, p, p+".1")
	mustTruncate(t, p)
	appendFile(t, p, records("b", 0, 2))
	scan(t, tl)
	c.expect(t, append(ids("a", 0, 6), ids("b", 0, 2)...)...)
}

func TestRotatedPatternsValidated(t *testing.T) {
	_, err := New(Options{Dirs: []string{"."}, StartsRecord: startsRecord, Handler: newCounter(t).handle, RotatedPatterns: []string{"*.1", "[", ""}})
	if err == nil || !strings.Contains(err.Error(), `rotated pattern 1 "["`) || !strings.Contains(err.Error(), `rotated pattern 2 ""`) {
		t.Errorf("error %v, want both bad patterns named", err)
	}
}
