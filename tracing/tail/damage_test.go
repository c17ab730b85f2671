package tail

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHugeFirstLineIsCutNotDropped: a record whose first line alone is
// over MaxRecordBytes (1 MiB by default) is handed over cut to that size
// and marked truncated, as a long message is; the records around it are
// whole. The line arrives in pieces, as a writer flushing its buffer
// writes it.
func TestHugeFirstLineIsCutNotDropped(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	var got collect
	tl := newTestTailer(t, dir, t.TempDir(), c, func(o *Options) {
		o.MaxRecordBytes = 0                 // the default
		o.PartialFlush = DefaultPartialFlush // the writer is in the middle of the line between the pieces
		o.Handler = func(ctx context.Context, b Batch) error { _ = got.handle(ctx, b); return c.handle(ctx, b) }
	})
	huge := "[2024-05-01 10:00:00.000] Process: w3wp |Organization:00000000-0000-0000-0000-000000000000 |Category: Platform |Level: Error | X.Y >" +
		strings.Repeat("m", 3<<19) + " >id=huge\r\n>second line\r\n"
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+record("a0"))
	for i := 0; i < len(huge); i += 700 << 10 {
		appendFile(t, p, huge[i:min(i+700<<10, len(huge))])
		scan(t, tl)
	}
	appendFile(t, p, record("a1"))
	scan(t, tl)
	recs := got.snapshot()
	if len(recs) != 3 {
		t.Fatalf("%d records, want a0, the huge one, a1", len(recs))
	}
	if idOf(recs[0].Data) != "a0" || idOf(recs[2].Data) != "a1" || recs[0].Truncated || recs[2].Truncated {
		t.Errorf("the records around the huge one are not whole: %q… %q…", recs[0].Data[:40], recs[2].Data[:40])
	}
	h := recs[1]
	if !h.Truncated || len(h.Data) != DefaultMaxRecordBytes || !strings.HasPrefix(huge, string(h.Data)) {
		t.Errorf("huge record: truncated %v, %d bytes, want the first %d bytes marked truncated", h.Truncated, len(h.Data), DefaultMaxRecordBytes)
	}
	if n := testutil.ToFloat64(tl.m.oversize); n != 1 {
		t.Errorf("oversize records = %v, want 1", n)
	}
}

// TestNULHoleAfterCopytruncate: copytruncate under a writer that does not
// append leaves the file a hole of NULs up to the writer's offset, then
// its next record with no line break before it. The NULs are skipped and
// counted, that record and the ones after it arrive whole, and no NUL or
// fragment reaches the handler or the file's header.
func TestNULHoleAfterCopytruncate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after string // what the writer had written after its last whole record
	}{
		{"hole at a record boundary", ""},
		{"hole after half a line", ">half a line, the rest went to the copy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newCounter(t)
			reg := prometheus.NewRegistry()
			var got collect
			tl := newTestTailer(t, dir, t.TempDir(), c, func(o *Options) {
				o.Registerer = reg
				o.Handler = func(ctx context.Context, b Batch) error { _ = got.handle(ctx, b); return c.handle(ctx, b) }
			})
			p := logPath(dir, "a.log")
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644) // no O_APPEND: writes at its own offset
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			write := func(s string) {
				if _, err := w.WriteString(s); err != nil {
					t.Fatal(err)
				}
			}
			write(header("a") + records("a", 0, 5) + tc.after)
			scan(t, tl)
			copyFile(t, p, p+".1") // the rotated copy, outside the pattern
			mustTruncate(t, p)
			hole, _ := w.Seek(0, 1)
			write(records("b", 0, 3))
			scan(t, tl)
			c.expect(t, append(ids("a", 0, 5), ids("b", 0, 3)...)...)
			if n := testutil.ToFloat64(tl.m.nulBytes); n != float64(hole) {
				t.Errorf("NUL bytes skipped = %v, want the hole's %d", n, hole)
			}
			for _, r := range got.snapshot() {
				if strings.ContainsRune(string(r.Data), 0) || r.Continued {
					t.Errorf("record at %d: continued %v, %q…", r.Offset, r.Continued, r.Data[:min(40, len(r.Data))])
				}
			}
			for fp, h := range c.headers {
				if strings.ContainsRune(h, 0) {
					t.Errorf("header of %s holds NULs", fp)
				}
			}
		})
	}
}
