package tail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runTailer runs Run in the background; stop cancels it and waits.
func runTailer(t *testing.T, o Options) (stop func()) {
	t.Helper()
	tl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := tl.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// TestRunWakesOnNotify: with a poll interval of an hour only the fsnotify
// hint can bring the records in.
func TestRunWakesOnNotify(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	stop := runTailer(t, Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: c.handle, PollInterval: time.Hour})
	defer stop()
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 5))
	eventually(t, 10*time.Second, "a0..a3 via fsnotify", func() bool { return c.total() >= 4 })
	mustRename(t, p, logPath(dir, "a.log.1"))
	appendFile(t, p, header("b")+records("b", 0, 3))
	eventually(t, 10*time.Second, "a4 drained, b0, b1", func() bool { return c.total() >= 7 })
	stop()
	c.expect(t, append(ids("a", 0, 5), ids("b", 0, 2)...)...)
}

// TestRunPollsAndFlushesIdle: polling alone (as on a network share) with
// the idle flush completing each file's last record.
func TestRunPollsAndFlushesIdle(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	stop := runTailer(t, Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: c.handle,
		PollInterval: 10 * time.Millisecond, IdleFlush: 50 * time.Millisecond, DisableNotify: true})
	defer stop()
	for i, name := range []string{"x-1.log", "x-2.log", "x-3.log"} {
		appendFile(t, logPath(dir, name), header(name)+records(name, 0, 4))
		want := 4 * (i + 1)
		eventually(t, 10*time.Second, fmt.Sprintf("%d records", want), func() bool { return c.total() >= want })
	}
	stop()
	c.expect(t, append(append(ids("x-1.log", 0, 4), ids("x-2.log", 0, 4)...), ids("x-3.log", 0, 4)...)...)
}

func TestExitAtEOFReadsEverythingOnce(t *testing.T) {
	dir := t.TempDir()
	c := newCounter(t)
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 1000))
	appendFile(t, logPath(dir, "b.log"), header("b")+records("b", 0, 3))
	tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: c.handle, ExitAtEOF: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.expect(t, append(ids("a", 0, 1000), ids("b", 0, 3)...)...)
}

const childEnv = "CRMWATCH_TAIL_TEST_CHILD"

// TestKillRestart runs the tailer in a child process (this test binary),
// SIGKILLs it while files are being written and rotated, restarts it, and
// checks that every record arrived; only the batch in flight at the kill may
// arrive twice.
func TestKillRestart(t *testing.T) {
	if spec := os.Getenv(childEnv); spec != "" {
		runChild(t, spec)
		return
	}
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir, state := t.TempDir(), t.TempDir()
	out := filepath.Join(t.TempDir(), "delivered")
	spec := strings.Join([]string{dir, state, out}, string(os.PathListSeparator))
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillRestart$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+spec)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var want []string
	write := func(file, prefix string, from, to int) {
		for i := from; i < to; i++ {
			appendFile(t, logPath(dir, file), record(fmt.Sprintf("%s%d", prefix, i)))
			want = append(want, fmt.Sprintf("%s%d", prefix, i))
		}
	}
	appendFile(t, logPath(dir, "s-1.log"), header("s1"))
	write("s-1.log", "s", 0, 300)
	child := start()
	eventually(t, 20*time.Second, "the child to deliver records", func() bool { return len(readDelivered(t, out)) > 50 })
	// Keep writing while the child reads; SIGKILL it in the middle.
	for i := 300; i < 1500; i += 100 {
		write("s-1.log", "s", i, i+100)
		if i == 900 {
			if err := child.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = child.Wait()
	t.Logf("%d records delivered before the kill", len(readDelivered(t, out)))
	// While the agent is down the file is renamed (inside the pattern: only
	// its fingerprint can tell it is the same file) and a new one starts.
	mustRename(t, logPath(dir, "s-1.log"), logPath(dir, "s-1.old.log"))
	appendFile(t, logPath(dir, "s-2.log"), header("s2"))
	write("s-2.log", "t", 0, 300)
	child = start()
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	eventually(t, 30*time.Second, "every record delivered", func() bool {
		got := readDelivered(t, out)
		for _, id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	got := readDelivered(t, out)
	dups := 0
	for _, id := range want {
		if got[id] > 1 {
			dups += got[id] - 1
		}
	}
	if dups > childBatch {
		t.Errorf("%d records delivered twice, want at most one batch (%d)", dups, childBatch)
	}
}

const childBatch = 16

func runChild(t *testing.T, spec string) {
	parts := strings.Split(spec, string(os.PathListSeparator))
	dir, state, out := parts[0], parts[1], parts[2]
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	handler := func(_ context.Context, b Batch) error {
		var buf bytes.Buffer
		for _, r := range b.Records {
			buf.WriteString(idOf(r.Data) + "\n")
		}
		_, err := f.Write(buf.Bytes()) // acknowledged once written
		return err
	}
	tl, err := New(Options{Dirs: []string{dir}, StartsRecord: startsRecord, Handler: handler, StateDir: state,
		PollInterval: 20 * time.Millisecond, IdleFlush: 100 * time.Millisecond, BatchRecords: childBatch})
	if err != nil {
		t.Fatal(err)
	}
	_ = tl.Run(context.Background()) // until SIGKILL
}

func readDelivered(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	got := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		got[sc.Text()]++
	}
	return got
}
