package alerts

import (
	"slices"

	"crmwatch/event"
)

// EventBound is the one rule for which events an alert keeps: the first
// First and the latest Last of them, however many there were. The engine
// applies it to the events of one change (EventList), the store to the
// events of an alert's whole life (Keep).
type EventBound struct {
	First, Last int
}

// Bounds in use.
var (
	// ChangeEvents bounds the events one change carries.
	ChangeEvents = EventBound{First: 1, Last: 4}
	// StoredEvents bounds the events the store keeps per alert.
	StoredEvents = EventBound{First: 5, Last: 20}
)

// Max is the most events kept.
func (b EventBound) Max() int { return b.First + b.Last }

// Keep reports whether the seq-th event (1-based) of total is kept.
func (b EventBound) Keep(seq, total int64) bool {
	return seq <= int64(b.First) || seq > total-int64(b.Last)
}

// Index is the 1-based position, among n events added to an EventList,
// of the i-th event its List returns.
func (b EventBound) Index(i, n int) int {
	if n <= b.Max() || i < b.First {
		return i + 1
	}
	return n - b.Max() + i + 1
}

// EventList keeps the first and latest events added under a bound,
// counting all of them, without allocating per event once full.
type EventList struct {
	b   EventBound
	evs []event.Event // first b.First, then a ring of b.Last
	n   int
}

// NewEventList returns an empty list under b.
func NewEventList(b EventBound) EventList { return EventList{b: b} }

// Add records ev.
func (l *EventList) Add(ev *event.Event) {
	if len(l.evs) < l.b.Max() {
		l.evs = append(l.evs, *ev)
	} else if l.b.Last > 0 {
		l.evs[l.b.First+(l.n-l.b.First)%l.b.Last] = *ev
	}
	l.n++
}

// Count is how many events were added.
func (l *EventList) Count() int { return l.n }

// List returns the kept events in the order they were added.
func (l *EventList) List() []event.Event {
	if l.n <= l.b.Max() {
		return slices.Clone(l.evs)
	}
	out := make([]event.Event, 0, l.b.Max())
	out = append(out, l.evs[:l.b.First]...)
	for j := l.n - l.b.Last; j < l.n; j++ {
		out = append(out, l.evs[l.b.First+(j-l.b.First)%l.b.Last])
	}
	return out
}

// Reset empties the list, keeping its memory.
func (l *EventList) Reset() {
	clear(l.evs)
	l.evs, l.n = l.evs[:0], 0
}
