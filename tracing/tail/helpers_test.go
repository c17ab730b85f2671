package tail

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
)

// startsRecord is the CRM record-head test in its simplest form: a line
// that begins with '['. The tailer itself knows nothing about the format.
func startsRecord(line []byte) bool { return len(line) > 0 && line[0] == '[' }

func header(name string) string {
	return "# CRM Tracing File " + name + "\n# LocalTime: 2024-05-01 10:00:00.000 " + name + "\n# ComputerName: CRM01\n# ServerRole: AppServer\n"
}

// record renders record id as a CRM-like multi-line record whose body
// carries the id, so a counting handler can recognise it.
func record(id string) string {
	return "[2024-05-01 10:00:00.000] Process: w3wp |Organization:00000000-0000-0000-0000-000000000000 |Thread: 13 |Category: Platform.Sql |Level: Error | X.Y ilOffset = 0x16\r\n" +
		"\tat X.Y(A b) ilOffset = 0x16\r\n>id=" + id + "\r\n>second message line\r\n"
}

func records(prefix string, from, to int) string {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		b.WriteString(record(prefix + strconv.Itoa(i)))
	}
	return b.String()
}

// counter is a handler that counts every record id it accepts and checks
// what the tailer claims about each record.
type counter struct {
	mu      sync.Mutex
	seen    map[string]int
	order   []string
	headers map[string]string // fingerprint → header
	names   map[string]string // record id → Batch.Name
	bad     []string
	failAt  int // fail the batch when this many records were accepted (0: never)
	t       testing.TB
}

func (c *counter) name(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names[id]
}

func newCounter(t testing.TB) *counter {
	return &counter{seen: map[string]int{}, headers: map[string]string{}, names: map[string]string{}, t: t}
}

var errRefused = errors.New("refused by test")

func (c *counter) handle(_ context.Context, b Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.Fingerprint == "" {
		c.bad = append(c.bad, "batch without fingerprint from "+b.Path)
	}
	c.headers[b.Fingerprint] = string(b.Header)
	for _, r := range b.Records {
		if c.failAt > 0 && len(c.order) >= c.failAt {
			c.failAt = 0
			return errRefused
		}
		id := idOf(r.Data)
		if !r.Continued && !bytes.HasPrefix(r.Data, []byte("[")) {
			c.bad = append(c.bad, fmt.Sprintf("record %q at %d does not start with a head", id, r.Offset))
		}
		c.seen[id]++
		c.names[id] = b.Name
		c.order = append(c.order, id)
	}
	return nil
}

func idOf(data []byte) string {
	i := bytes.Index(data, []byte(">id="))
	if i < 0 {
		return "?" + string(data)
	}
	rest := data[i+4:]
	if j := bytes.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return string(rest)
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[id]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// expect checks that every id was seen exactly once and nothing else was.
func (c *counter) expect(t testing.TB, ids ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		if n := c.seen[id]; n != 1 {
			t.Errorf("record %s seen %d times, want 1", id, n)
		}
	}
	for id, n := range c.seen {
		if !want[id] {
			t.Errorf("unexpected record %q seen %d times", id, n)
		}
	}
	for _, b := range c.bad {
		t.Error(b)
	}
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// newTestTailer builds a tailer the test drives scan by scan with poll.
func newTestTailer(t testing.TB, dir, state string, c *counter, tweak func(*Options)) *Tailer {
	t.Helper()
	o := Options{
		Dirs: []string{dir}, StartsRecord: startsRecord, Handler: c.handle, StateDir: state,
		IdleFlush: time.Nanosecond, PartialFlush: time.Nanosecond, DisableNotify: true, BatchRecords: 7,
	}
	if tweak != nil {
		tweak(&o)
	}
	tl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// scan polls until no file has unread bytes, then once more so files that
// stopped growing flush their last record.
func scan(t testing.TB, tl *Tailer) {
	t.Helper()
	defer func() {
		if _, err := tl.poll(context.Background()); err != nil {
			t.Fatalf("poll: %v", err)
		}
	}()
	for {
		more, err := tl.poll(context.Background())
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if !more {
			return
		}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

func logPath(dir, name string) string { return filepath.Join(dir, name) }
