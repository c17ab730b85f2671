package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/event"
)

// centre plays the transport: while down, Emit blocks like the publisher
// retrying against an unreachable centre.
type centre struct {
	mu   sync.Mutex
	up   chan struct{} // closed while up
	got  []event.Event
	seen chan struct{}
}

func newCentre(up bool) *centre {
	c := &centre{up: make(chan struct{}), seen: make(chan struct{}, 1)}
	if up {
		close(c.up)
	}
	return c
}

func (c *centre) start() { close(c.up) }

func (c *centre) Emit(ctx context.Context, b event.Batch) error {
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	select {
	case <-up:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	c.got = append(c.got, b.Events...)
	c.mu.Unlock()
	select {
	case c.seen <- struct{}{}:
	default:
	}
	return nil
}

func (c *centre) events() []event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.got...)
}

func (c *centre) waitFor(t *testing.T, n int) []event.Event {
	t.Helper()
	deadline := time.After(90 * time.Second) // a loaded machine under -race
	for len(c.events()) < n {
		select {
		case <-c.seen:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of %d events arrived", len(c.events()), n)
		}
	}
	return c.events()
}

// levels cycles error, warning, info, info, info, verbose.
var cycle = []event.Level{event.LevelError, event.LevelWarning, event.LevelInfo, event.LevelInfo, event.LevelInfo, event.LevelVerbose}

func batch(from, n int) event.Batch {
	b := event.Batch{Host: "CRMAPP01"}
	for i := from; i < from+n; i++ {
		b.Events = append(b.Events, event.Event{Time: time.Unix(int64(i), 0).UTC(), Host: "CRMAPP01", Source: event.SourceSNMP,
			Level: cycle[i%len(cycle)], Category: "seq", Message: "seq=" + strconv.Itoa(i) + " padding padding padding padding",
			Origin: event.Origin{Collector: "snmptrap"}})
	}
	return b
}

func seqOf(t *testing.T, ev event.Event) int {
	var n int
	if _, err := fmt.Sscanf(ev.Message, "seq=%d", &n); err != nil {
		t.Fatalf("message %q", ev.Message)
	}
	return n
}

func open(t *testing.T, dir string, next *centre, max int64) (*Spool, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(Options{Dir: dir, MaxBytes: max, SegmentBytes: max / 16, Next: next, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

func run(t *testing.T, s *Spool) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestOrderedAfterOutageAndAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	down := newCentre(false)
	s, _ := open(t, dir, down, 64<<20)
	stop := run(t, s)
	for i := 0; i < 3000; i += 10 {
		if err := s.Emit(context.Background(), batch(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// The agent stops while the centre is still away: nothing was sent.
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	up := newCentre(false)
	s2, _ := open(t, dir, up, 64<<20)
	defer s2.Close()
	for i := 3000; i < 4000; i += 10 {
		if err := s2.Emit(context.Background(), batch(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	up.start()
	stop2 := run(t, s2)
	defer stop2()
	got := up.waitFor(t, 4000)
	for i, ev := range got {
		if seqOf(t, ev) != i {
			t.Fatalf("event %d is seq %d: order or count broken", i, seqOf(t, ev))
		}
	}
	if len(got) != 4000 {
		t.Fatalf("%d events, want 4000 exactly once", len(got))
	}
	var segs []string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if segs, _ = filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) == 1 {
			break
		}
	}
	if len(segs) != 1 {
		t.Errorf("sent segments are deleted: %v", segs)
	}
}

// TestFullDropsLowLevelsFirst fills a small spool while the centre is
// away: verbose and info go first, errors never, every drop is counted by
// level, and what is kept arrives once, in order.
func TestFullDropsLowLevelsFirst(t *testing.T) {
	c := newCentre(false)
	s, _ := open(t, t.TempDir(), c, 512<<10)
	defer s.Close()
	const n = 30000
	for i := 0; i < n; i += 20 {
		if err := s.Emit(context.Background(), batch(i, 20)); err != nil {
			t.Fatal(err)
		}
	}
	if s.total > s.o.MaxBytes {
		t.Errorf("spool holds %d bytes, bound %d", s.total, s.o.MaxBytes)
	}
	dropped := map[string]float64{}
	for _, l := range slotNames {
		dropped[l] = testutil.ToFloat64(s.m.dropped.WithLabelValues(l))
	}
	if dropped["error"] != 0 || dropped["critical"] != 0 || dropped["verbose"] == 0 || dropped["info"] == 0 {
		t.Fatalf("dropped by level %v: want verbose and info dropped, errors never", dropped)
	}
	c.start()
	stop := run(t, s)
	defer stop()
	wantTotal := n - int(dropped["verbose"]+dropped["info"]+dropped["warning"])
	got := c.waitFor(t, wantTotal)
	time.Sleep(50 * time.Millisecond)
	got = c.events()
	if len(got) != wantTotal {
		t.Fatalf("%d events arrived, want %d (written minus dropped)", len(got), wantTotal)
	}
	errs, last := 0, -1
	for _, ev := range got {
		seq := seqOf(t, ev)
		if seq <= last {
			t.Fatalf("seq %d after %d: out of order or twice", seq, last)
		}
		last = seq
		if ev.Level == event.LevelError {
			errs++
		}
	}
	if errs != n/len(cycle) {
		t.Errorf("%d errors arrived, want all %d", errs, n/len(cycle))
	}
	if dropped["warning"] > 0 && dropped["info"] < float64(n/2)-float64(3*s.o.SegmentBytes/100) {
		t.Errorf("warnings dropped while info was kept: %v", dropped)
	}
}

func TestOnlyErrorsLeftIsBoundedAt2x(t *testing.T) {
	c := newCentre(false)
	s, _ := open(t, t.TempDir(), c, 64<<10)
	defer s.Close()
	var full error
	for i := 0; i < 100000 && full == nil; i += 6 {
		full = s.Emit(context.Background(), batch(i, 6))
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("want ErrFull once errors fill twice the bound, got %v", full)
	}
	if s.total > 2*s.o.MaxBytes {
		t.Errorf("spool at %d bytes, hard bound %d", s.total, 2*s.o.MaxBytes)
	}
}

func TestCutRecordIsDroppedAtOpen(t *testing.T) {
	dir := t.TempDir()
	c := newCentre(false)
	s, reg := open(t, dir, c, 64<<20)
	for i := 0; i < 50; i += 10 {
		if err := s.Emit(context.Background(), batch(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := encodeRecord(batch(50, 10))
	f.Write(rec[:len(rec)/2]) // the agent died mid-write
	f.Close()
	_ = reg
	c2 := newCentre(true)
	s2, reg2 := open(t, dir, c2, 64<<20)
	defer s2.Close()
	stop := run(t, s2)
	defer stop()
	if got := c2.waitFor(t, 50); len(got) != 50 {
		t.Errorf("%d events", len(got))
	}
	if n, _ := testutil.GatherAndCount(reg2, "crmwatch_spool_corrupt_records_total"); n != 1 || testutil.ToFloat64(s2.m.corrupt) != 1 {
		t.Errorf("the cut record is counted: %v", testutil.ToFloat64(s2.m.corrupt))
	}
}

// FuzzReadRecord: any bytes in a segment are a record or a refusal, never
// a panic or an allocation beyond the record bound.
func FuzzReadRecord(f *testing.F) {
	rec, _ := encodeRecord(batch(0, 3))
	f.Add(rec)
	f.Add(rec[:headerBytes])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := readRecord(bytes.NewReader(data))
		if err == nil && int(h.length) != len(payload) {
			t.Fatalf("length %d, payload %d", h.length, len(payload))
		}
	})
}
