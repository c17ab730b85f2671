package server

import (
	"sync"

	"crmwatch/transport"
)

// beatQueue hands agent registrations from the agents watch to the
// evaluator without ever blocking the watch: it keeps the latest per
// agent, and the evaluator takes them all when it is ready.
type beatQueue struct {
	mu     sync.Mutex
	latest map[string]transport.Registration
	ready  chan struct{} // one token while something waits
}

func newBeatQueue() *beatQueue {
	return &beatQueue{latest: map[string]transport.Registration{}, ready: make(chan struct{}, 1)}
}

func (q *beatQueue) put(r transport.Registration) {
	q.mu.Lock()
	q.latest[r.Name] = r
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *beatQueue) take() []transport.Registration {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]transport.Registration, 0, len(q.latest))
	for _, r := range q.latest {
		if !r.Stopped {
			out = append(out, r)
		}
	}
	clear(q.latest)
	return out
}
