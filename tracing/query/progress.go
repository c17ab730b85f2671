package query

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Progress prints "read X of Y MB (P%)" to a terminal while a long
// operation runs. Start it only when the output is a terminal.
type Progress struct {
	Done  atomic.Int64
	total int64
	w     io.Writer
	stop  chan struct{}
	wg    sync.WaitGroup
}

// IsTerminal reports whether f is a character device (a TTY), without a
// terminal library: redirected or piped stderr gets no progress lines.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// StartProgress prints to w every interval until Stop.
func StartProgress(w io.Writer, total int64, interval time.Duration) *Progress {
	p := &Progress{total: total, w: w, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				p.print(time.Since(start))
			}
		}
	}()
	return p
}

func (p *Progress) print(elapsed time.Duration) {
	done := p.Done.Load()
	rate := float64(done) / 1e6 / max(elapsed.Seconds(), 1e-3)
	if p.total > 0 {
		fmt.Fprintf(p.w, "\rread %.0f of %.0f MB (%.0f%%), %.0f MB/s ", float64(done)/1e6, float64(p.total)/1e6,
			100*float64(done)/float64(p.total), rate)
		return
	}
	fmt.Fprintf(p.w, "\rread %.0f MB, %.0f MB/s ", float64(done)/1e6, rate)
}

// Stop ends the progress line. A nil Progress is a no-op.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
}

// Counter returns the counter workers advance, or nil for a nil Progress.
func (p *Progress) Counter() *atomic.Int64 {
	if p == nil {
		return nil
	}
	return &p.Done
}
