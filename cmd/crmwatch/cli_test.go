package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects output written from several goroutines (the
// process loggers of server and agent).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// result is one run of the command tree: what the binary would print and
// the exit status main would end with.
type result struct {
	stdout, stderr string
	code           int
}

// runRoot runs crmwatch ARGS in-process, as main does: the whole command
// tree, the error printed by report and its exit status.
func runRoot(t *testing.T, args ...string) result {
	t.Helper()
	return runRootCtx(t, context.Background(), "", args...)
}

func runRootCtx(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := execRoot(ctx, &out, &errb, stdin, args...)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func execRoot(ctx context.Context, out, errb *syncBuffer, stdin string, args ...string) int {
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return report(errb, err)
	}
	return 0
}

// background runs crmwatch ARGS until stop is called; stop returns the
// exit status. Its output is readable while it runs.
type background struct {
	out, err syncBuffer
	cancel   context.CancelFunc
	done     chan int
	once     sync.Once
	code     int
}

func runBackground(args ...string) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, done: make(chan int, 1)}
	go func() { b.done <- execRoot(ctx, &b.out, &b.err, "", args...) }()
	return b
}

// stop cancels the command and returns its exit status; calling it again
// returns the same status.
func (b *background) stop(t *testing.T) int {
	t.Helper()
	b.once.Do(func() {
		b.cancel()
		select {
		case b.code = <-b.done:
		case <-time.After(30 * time.Second):
			t.Fatal("command did not stop within 30 s of its cancellation")
		}
	})
	return b.code
}

// eventually polls cond every 50 ms until it holds or d passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
