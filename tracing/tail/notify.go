package tail

import (
	"context"
	"errors"

	"github.com/fsnotify/fsnotify"
)

// startNotify watches the directories (never the files: a file watch dies
// on rename) and turns any event into a wake-up; the poll loop decides what
// happened. On overflow the wake-up triggers the same full rescan. When
// watching is impossible (inotify limits, network shares) polling alone
// carries on.
func (t *Tailer) startNotify(ctx context.Context) (stop func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.m.errors.WithLabelValues("notify").Inc()
		return func() {}
	}
	for _, d := range t.opts.Dirs {
		if err := w.Add(d); err != nil {
			t.m.errors.WithLabelValues("notify").Inc()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				t.signal()
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				if !errors.Is(err, fsnotify.ErrEventOverflow) {
					t.m.errors.WithLabelValues("notify").Inc()
				}
				t.signal()
			}
		}
	}()
	return func() {
		_ = w.Close()
		<-done
	}
}

func (t *Tailer) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
