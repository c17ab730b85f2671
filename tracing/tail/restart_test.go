package tail

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRestart(t *testing.T) {
	cases := []struct {
		name string
		stop func(tl *Tailer) // how the first tailer ends
	}{
		{"clean stop", func(tl *Tailer) { tl.closeAll() }},
		{"no final checkpoint", func(tl *Tailer) {
			for _, r := range tl.readers {
				r.close() // the process dies: handles go, nothing is saved
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			c := newCounter(t)
			appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 10)+record("a10")[:60])
			tl := newTestTailer(t, dir, state, c, func(o *Options) { o.IdleFlush = time.Hour })
			scan(t, tl)
			tc.stop(tl)
			// While the agent is down: the record in flight completes, the
			// file rolls over by rename and a new one starts.
			appendFile(t, logPath(dir, "a.log"), record("a10")[60:]+records("a", 11, 13))
			mustRename(t, logPath(dir, "a.log"), logPath(dir, "a-1.log"))
			appendFile(t, logPath(dir, "a.log"), header("b")+records("b", 0, 3))
			tl2 := newTestTailer(t, dir, state, c, nil)
			scan(t, tl2)
			tl2.closeAll()
			c.expect(t, append(ids("a", 0, 13), ids("b", 0, 3)...)...)
		})
	}
}

// TestCrashWhileHandlerFails: the handler accepts part of a batch and fails,
// then the process dies. After the restart nothing is lost and only records
// of that one batch come twice.
func TestCrashWhileHandlerFails(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	c := newCounter(t)
	c.failAt = 11 // batches of 7: the second batch fails after 4 records
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 30))
	tl := newTestTailer(t, dir, state, c, nil)
	if _, err := tl.poll(context.Background()); !errors.Is(err, errRefused) {
		t.Fatalf("poll: %v, want the handler's error", err)
	}
	for _, r := range tl.readers {
		r.close() // crash: no clean stop
	}
	tl2 := newTestTailer(t, dir, state, c, nil)
	scan(t, tl2)
	assertAtLeastOnce(t, c, ids("a", 0, 30), 7)
}

// TestHandlerFailureIsRetried: a refused batch is offered again by the same
// tailer; records behind it wait, none is lost.
func TestHandlerFailureIsRetried(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	c.failAt = 3
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 20))
	tl := newTestTailer(t, dir, t.TempDir(), c, nil)
	if _, err := tl.poll(context.Background()); !errors.Is(err, errRefused) {
		t.Fatalf("poll: %v, want the handler's error", err)
	}
	scan(t, tl)
	assertAtLeastOnce(t, c, ids("a", 0, 20), 3)
	if got := c.count("a0"); got != 2 {
		t.Errorf("a0 seen %d times, want 2 (accepted, then the batch was refused and resent)", got)
	}
}

// assertAtLeastOnce checks every id arrived and at most maxDup arrived twice.
func assertAtLeastOnce(t *testing.T, c *counter, want []string, maxDup int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	dups := 0
	for _, id := range want {
		switch n := c.seen[id]; {
		case n == 0:
			t.Errorf("record %s lost", id)
		case n == 2:
			dups++
		case n > 2:
			t.Errorf("record %s seen %d times", id, n)
		}
	}
	if dups > maxDup {
		t.Errorf("%d records re-sent, want at most one batch (%d)", dups, maxDup)
	}
	if len(c.seen) != len(want) {
		t.Errorf("saw %d distinct records, want %d", len(c.seen), len(want))
	}
}
