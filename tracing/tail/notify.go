package tail

import (
	"context"
	"errors"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// maxHints bounds the paths remembered between two turns of the loop; more
// turn into one full scan.
const maxHints = 1024

// hints are what file-system notifications said since the last turn: the
// files written to (a targeted check of just those), or that something else
// happened (a file created, removed or renamed, an overflow, an error),
// which needs a full scan.
type hints struct {
	mu    sync.Mutex
	paths map[string]struct{}
	full  bool
	lost  bool // events may have been lost (overflow, error): stat every file
}

func (h *hints) add(ev fsnotify.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Chmod) || ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		h.full = true
		return
	}
	if h.paths == nil {
		h.paths = make(map[string]struct{})
	}
	if len(h.paths) >= maxHints {
		h.full = true
		return
	}
	h.paths[ev.Name] = struct{}{}
}

func (h *hints) eventsLost() {
	h.mu.Lock()
	h.full, h.lost = true, true
	h.mu.Unlock()
}

// has reports whether a notification named path since the last take.
func (h *hints) has(path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.paths[path]
	return ok
}

// take returns and clears the hints.
func (h *hints) take() (paths []string, full, lost bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.paths {
		paths = append(paths, p)
	}
	clear(h.paths)
	full, lost, h.full, h.lost = h.full, h.lost, false, false
	return paths, full, lost
}

// startNotify watches the directories (never the files: a file watch dies
// on rename) and turns events into hints and a wake-up; the loop decides
// what happened. On overflow the hint is a full rescan. When watching is
// impossible (inotify limits, network shares) polling alone carries on.
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
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				t.hints.add(ev)
				t.signal()
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				if !errors.Is(err, fsnotify.ErrEventOverflow) {
					t.m.errors.WithLabelValues("notify").Inc()
				}
				t.hints.eventsLost()
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
