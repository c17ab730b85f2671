package tail

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// collect is a handler that keeps every record (copied) in order.
type collect struct {
	mu   sync.Mutex
	recs []Record
	at   []time.Time
}

func (c *collect) handle(_ context.Context, b Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range b.Records {
		r.Data = append([]byte(nil), r.Data...)
		c.recs = append(c.recs, r)
		c.at = append(c.at, time.Now())
	}
	return nil
}

func (c *collect) snapshot() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.recs...)
}

// TestDefaultIdleCompletesRecordFast: with the defaults, the last record of
// a file is handed over about IdleFlush after it was written — the poll
// interval is an hour here, so only the notification and the idle timer
// can bring it in.
func TestDefaultIdleCompletesRecordFast(t *testing.T) {
	dir := t.TempDir()
	var c collect
	stop := runTailer(t, Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: c.handle, PollInterval: time.Hour})
	defer stop()
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+record("a0"))
	eventually(t, 10*time.Second, "a0", func() bool { return len(c.snapshot()) == 1 })
	for i := range 5 {
		written := time.Now()
		appendFile(t, p, record("b"+string(rune('0'+i))))
		eventually(t, 10*time.Second, "the appended record", func() bool { return len(c.snapshot()) == i+2 })
		c.mu.Lock()
		took := c.at[len(c.at)-1].Sub(written)
		c.mu.Unlock()
		t.Logf("append → handler: %v", took)
		if took < DefaultIdleFlush {
			t.Errorf("record handed over %v after its write, before the idle time %v: it could have been cut", took, DefaultIdleFlush)
		}
		if took > time.Second {
			t.Errorf("record handed over %v after its write, want well under a second", took)
		}
	}
}

// TestUnterminatedLineWaitsForItsEnd: a writer that flushed in the middle
// of a line (its buffer filled) is not cut at the short idle time; the
// record is handed over whole when the line is finished.
func TestUnterminatedLineWaitsForItsEnd(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	var got collect
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.IdleFlush, o.PartialFlush = time.Millisecond, time.Hour
		o.Handler = func(ctx context.Context, b Batch) error { _ = got.handle(ctx, b); return c.handle(ctx, b) }
	})
	p := logPath(dir, "a.log")
	full := record("a0")
	cut := strings.Index(full, ">id=") + 2
	appendFile(t, p, header("a")+full[:cut])
	scan(t, tl)
	time.Sleep(5 * time.Millisecond)
	scan(t, tl)
	c.expect(t) // idle, but the last line has no terminator yet
	appendFile(t, p, full[cut:])
	scan(t, tl)
	time.Sleep(5 * time.Millisecond)
	scan(t, tl)
	c.expect(t, "a0")
	if recs := got.snapshot(); len(recs) != 1 || string(recs[0].Data) != strings.TrimSuffix(full, "\r\n") {
		t.Errorf("records %v, want the one record whole", recs)
	}
}

// TestLateContinuation: lines that continue a record after it was handed
// over (the writer paused inside it longer than the idle time) come as one
// Continued record — never glued to the next record, never taken for a
// record head — are counted and logged once, and the file waits longer
// from then on, so the same writer's next pause inside a record does not
// cut it.
func TestLateContinuation(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	var got collect
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	idle := 20 * time.Millisecond
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.IdleFlush, o.PartialFlush, o.Registerer = idle, time.Hour, reg
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Handler = func(ctx context.Context, b Batch) error { _ = got.handle(ctx, b); return c.handle(ctx, b) }
	})
	p := logPath(dir, "a.log")
	a0 := record("a0")
	head, body, _ := strings.Cut(a0, "\r\n")
	appendFile(t, p, header("a")+head+"\r\n")
	settle(t, tl, idle) // the head alone is handed over after the idle time
	appendFile(t, p, body+record("a1"))
	settle(t, tl, idle)
	recs := got.snapshot()
	if len(recs) != 3 {
		t.Fatalf("got %d records, want head, continuation, a1: %v", len(recs), recs)
	}
	if recs[0].Continued || !recs[1].Continued || recs[2].Continued {
		t.Errorf("Continued flags %v %v %v, want only the middle one", recs[0].Continued, recs[1].Continued, recs[2].Continued)
	}
	if string(recs[1].Data) != strings.TrimSuffix(body, "\r\n") || idOf(recs[2].Data) != "a1" {
		t.Errorf("continuation %q and next record %q, want the body lines and a1", recs[1].Data, recs[2].Data)
	}
	if n := testutil.ToFloat64(tl.m.lateContinuations); n != 1 {
		t.Errorf("late continuations = %v, want 1", n)
	}
	// The same pause again: the file now waits longer than it.
	head, body, _ = strings.Cut(record("a2"), "\r\n")
	appendFile(t, p, head+"\r\n")
	scan(t, tl)
	r := tl.byPath[p]
	r.lastGrowth = time.Now().Add(-idle * 3 / 2) // past the original idle time, within the learnt one
	scanOnce(t, tl)
	appendFile(t, p, body)
	settle(t, tl, 4*idle)
	recs = got.snapshot()
	if last := recs[len(recs)-1]; len(recs) != 4 || idOf(last.Data) != "a2" || last.Continued {
		t.Errorf("after the lineage learnt the writer's pauses: %d records, last %q; want a2 whole", len(recs), last.Data)
	}
	// A longer pause still cuts: counted again, logged no more.
	head, body, _ = strings.Cut(record("a3"), "\r\n")
	appendFile(t, p, head+"\r\n")
	scan(t, tl)
	r.lastGrowth = time.Now().Add(-time.Second)
	scanOnce(t, tl)
	appendFile(t, p, body+record("a4"))
	settle(t, tl, 4*idle)
	if n := testutil.ToFloat64(tl.m.lateContinuations); n != 2 {
		t.Errorf("late continuations = %v, want 2", n)
	}
	if n := strings.Count(logs.String(), "continued a record already handed over"); n != 1 || !strings.Contains(logs.String(), "a.log") {
		t.Errorf("late continuations logged %d times, want once with the file name:\n%s", n, logs.String())
	}
}

// settle lets a file idle past d and scans, twice.
func settle(t *testing.T, tl *Tailer, d time.Duration) {
	t.Helper()
	for range 2 {
		scan(t, tl)
		time.Sleep(d + d/2)
	}
	scan(t, tl)
}

func scanOnce(t *testing.T, tl *Tailer) {
	t.Helper()
	if _, err := tl.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestIdleFileClosedAndReopenedByFingerprint: a file idle for CloseAfter
// gives up its handle; when it grows it is reopened and its first bytes are
// compared with its fingerprint, so a file rewritten in place while closed
// starts a new lineage instead of being read from the old offset.
func TestIdleFileClosedAndReopenedByFingerprint(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, "", c, func(o *Options) { o.CloseAfter, o.ColdPollInterval = time.Millisecond, time.Millisecond })
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 3))
	scan(t, tl)
	time.Sleep(5 * time.Millisecond)
	scan(t, tl)
	r := tl.byPath[p]
	if r == nil || r.f != nil {
		t.Fatalf("idle file still open (reader %v)", r)
	}
	appendFile(t, p, records("a", 3, 5))
	scan(t, tl)
	c.expect(t, ids("a", 0, 5)...)
	time.Sleep(5 * time.Millisecond)
	scan(t, tl)
	// Rewritten in place while closed, longer than before.
	if err := os.WriteFile(p, []byte(header("b")+records("b", 0, 9)), 0o644); err != nil {
		t.Fatal(err)
	}
	scan(t, tl)
	c.expect(t, append(ids("a", 0, 5), ids("b", 0, 9)...)...)
}

// TestIdleFilesOnSlowTurn: without notifications, a file whose handle was
// closed for idleness is stat'ed once every ColdPollInterval, the files
// staggered over the scans, so a scan's cost follows the files being
// written; growth of an idle file is still found within that interval.
func TestIdleFilesOnSlowTurn(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.CloseAfter, o.PollInterval, o.ColdPollInterval = time.Millisecond, 10*time.Millisecond, 40*time.Millisecond
	})
	const files = 8
	for i := range files {
		appendFile(t, logPath(dir, "f"+string(rune('a'+i))+".log"), header("f")+record("init"+string(rune('a'+i))))
	}
	scan(t, tl)
	time.Sleep(5 * time.Millisecond)
	scan(t, tl) // idle past CloseAfter: every handle closed
	for _, r := range tl.readers {
		if r.f != nil {
			t.Fatalf("%s still open", r.path)
		}
	}
	for i := range files {
		appendFile(t, logPath(dir, "f"+string(rune('a'+i))+".log"), record("x"))
	}
	readTo := func() (n int) {
		for _, r := range tl.readers {
			if fi, _ := os.Stat(r.path); r.readPos == fi.Size() {
				n++
			}
		}
		return n
	}
	scanOnce(t, tl)
	if got := readTo(); got != files/4 {
		t.Errorf("one scan read %d of %d idle files that grew, want %d (one in ColdPollInterval/PollInterval = 4)", got, files, files/4)
	}
	for range 3 {
		scanOnce(t, tl)
	}
	if got := readTo(); got != files {
		t.Errorf("after ColdPollInterval %d of %d grown idle files were read, want all", got, files)
	}
}

// TestNotificationTrust: notifications are trusted to announce writes only
// after one did, and not for distrustHold after a scan found growth no
// notification named within suspectWait; then idle files go back to being
// stat'ed every ColdPollInterval.
func TestNotificationTrust(t *testing.T) {
	tl, err := New(Options{Dirs: []string{t.TempDir()}, StartsRecord: startsRecord, Handler: newCounter(t).handle,
		PollInterval: 100 * time.Millisecond, ColdPollInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if tl.trusted(now) || tl.coldEvery(now) != 4 {
		t.Fatalf("trusted before any notification proved itself (every %d)", tl.coldEvery(now))
	}
	tl.announced()
	if !tl.trusted(now) || tl.coldEvery(now) != 4*trustedColdFactor {
		t.Fatalf("not trusted after an announced write (every %d)", tl.coldEvery(now))
	}
	tl.grownByScan("a.log", now) // its notification arrives in time
	tl.settle([]string{"a.log"}, now.Add(2*suspectWait))
	if !tl.trusted(now.Add(2 * suspectWait)) {
		t.Error("distrusted although the notification came")
	}
	tl.grownByScan("b.log", now) // never announced
	tl.settle(nil, now.Add(suspectWait/2))
	if !tl.trusted(now.Add(suspectWait / 2)) {
		t.Error("distrusted before suspectWait")
	}
	later := now.Add(suspectWait)
	tl.settle(nil, later)
	if tl.trusted(later) || tl.coldEvery(later) != 4 {
		t.Errorf("still trusted after unannounced growth (every %d)", tl.coldEvery(later))
	}
	if !tl.trusted(later.Add(distrustHold)) {
		t.Error("not trusted again after distrustHold")
	}
	off, _ := New(Options{Dirs: []string{"."}, StartsRecord: startsRecord, Handler: newCounter(t).handle, DisableNotify: true})
	off.announced()
	if off.trusted(now) {
		t.Error("trusted with notifications off")
	}
}

// TestMissingFolderDoesNotDefeatSlowTurn: a configured folder that does not
// exist (yet) is an empty folder, not an error on every scan, and it does
// not make every scan stat every file of the other folders.
func TestMissingFolderDoesNotDefeatSlowTurn(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	reg := prometheus.NewRegistry()
	tl := newTestTailer(t, dir, "", c, func(o *Options) {
		o.Dirs = append(o.Dirs, dir+"-not-yet")
		o.Registerer = reg
	})
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 2))
	scan(t, tl)
	_, moved, _ := tl.list(time.Now(), false)
	if moved {
		t.Error("a folder missing since the last scan counts as changed: every scan would stat every file")
	}
	if n := testutil.ToFloat64(tl.m.errors.WithLabelValues("scan")); n != 0 {
		t.Errorf("scan errors = %v for a folder that does not exist yet, want 0", n)
	}
	c.expect(t, ids("a", 0, 2)...)
}
