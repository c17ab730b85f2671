package tail

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFeed is the hot path: splitting bytes into lines and records and
// copying them into a batch.
func BenchmarkFeed(b *testing.B) {
	var n atomic.Int64
	tl, err := New(Options{Dirs: []string{"."}, StartsRecord: startsRecord, DisableNotify: true,
		Handler: func(_ context.Context, bt Batch) error { n.Add(int64(len(bt.Records))); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	chunk := []byte(records("r", 0, 200))
	r := &reader{id: "bench", headerDone: true}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		for c := chunk; len(c) > 0; {
			used, full := tl.feed(r, c)
			r.readPos += int64(used)
			c = c[used:]
			if full {
				if err := tl.deliver(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkTailer8Files: 8 writers append CRM-like records to 8 files as
// fast as they can while one tailer (checkpointing after every batch)
// follows them; one op is one record per file. The MB/s column is the
// consumed rate: the clock stops only when every record was handed over.
func BenchmarkTailer8Files(b *testing.B) { benchTailer(b, 0) }

// BenchmarkTailer8FilesPaced50MBps writes at 50 MB/s in total (8 × 6.25
// MB/s, in 10 ms steps) and reports catch-up-ms: how long after the last
// write the last record was handed over. A tailer that keeps up shows about
// one poll/idle interval, not a backlog that grows with the run.
func BenchmarkTailer8FilesPaced50MBps(b *testing.B) { benchTailer(b, 50<<20) }

func benchTailer(b *testing.B, bytesPerSec int) {
	const files = 8
	dir, state := b.TempDir(), b.TempDir()
	var got atomic.Int64
	tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, StateDir: state,
		PollInterval: 50 * time.Millisecond, IdleFlush: 20 * time.Millisecond,
		Handler: func(_ context.Context, bt Batch) error { got.Add(int64(len(bt.Records))); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	rec := record("bench") // ~270 bytes, like a verbose CRM record
	ws := make([]*os.File, files)
	for i := range ws {
		if ws[i], err = os.Create(logPath(dir, fmt.Sprintf("CRM01-w3wp-CRMWeb-20240501-%d.log", i))); err != nil {
			b.Fatal(err)
		}
		_, _ = ws[i].WriteString(header(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = tl.Run(ctx) }()
	b.SetBytes(int64(files * len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	// Records per 10 ms step per file at the paced rate (0: unpaced).
	step := 64
	if bytesPerSec > 0 {
		step = max(1, bytesPerSec/files/100/len(rec))
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := []byte(strings.Repeat(rec, step))
			next := time.Now()
			for left := b.N; left > 0; left -= step {
				k := min(left, step)
				if _, err := w.Write(buf[:k*len(rec)]); err != nil {
					b.Error(err)
					return
				}
				if bytesPerSec > 0 {
					next = next.Add(10 * time.Millisecond)
					time.Sleep(time.Until(next)) // pacing the writer, not synchronisation
				}
			}
		}()
	}
	wg.Wait()
	wrote := time.Now()
	for got.Load() < int64(files*b.N) {
		select {
		case <-done:
			b.Fatal("tailer stopped")
		case <-time.After(time.Millisecond):
		}
	}
	b.StopTimer()
	if bytesPerSec > 0 {
		b.ReportMetric(float64(time.Since(wrote).Milliseconds()), "catch-up-ms")
	}
	cancel()
	<-done
	for _, w := range ws {
		_ = w.Close()
	}
}

// BenchmarkScanIdleFiles is one full scan of a folder of 5,000 idle trace
// files whose handles were closed (the agent's steady state between
// records): the directory listing is reused, and each file is stat'ed on
// its slow turn only — every 4th scan while polling alone, every 32nd while
// notifications are trusted to announce writes. ns/op is what a scan
// costs every PollInterval.
func BenchmarkScanIdleFiles(b *testing.B) {
	for _, tc := range []struct {
		name    string
		trusted bool
	}{{"polling", false}, {"notified", true}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			for i := range 5000 {
				p := logPath(dir, fmt.Sprintf("CRM01-w3wp(%d#0000)-CRMWeb-20240501-1.log", i))
				if err := os.WriteFile(p, []byte(header(strconv.Itoa(i))+records("r", 0, 4)), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			old := time.Now().Add(-time.Minute) // a folder last changed a while ago
			if err := os.Chtimes(dir, old, old); err != nil {
				b.Fatal(err)
			}
			tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, StateDir: b.TempDir(), DisableNotify: !tc.trusted,
				CloseAfter: time.Nanosecond, IdleFlush: time.Nanosecond, Handler: func(context.Context, Batch) error { return nil }})
			if err != nil {
				b.Fatal(err)
			}
			defer tl.closeAll()
			if tc.trusted {
				tl.announced()
			}
			for range 3 { // read everything, let the files go idle and close
				if _, err := tl.poll(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tl.poll(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
