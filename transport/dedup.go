package transport

import (
	"container/list"

	"crmwatch/event"
)

// HighWater drops trace records the server has already processed. The
// tailer is at-least-once across hard crashes: an agent that died between
// publishing and saving its checkpoint re-reads the file from the old
// checkpoint, and the re-sent batches have new boundaries, so JetStream's
// Nats-Msg-Id window does not catch them. A record is identified by (host,
// Origin.Fingerprint, Origin.Offset) and offsets grow within a file, so one
// high-water mark per file is enough.
//
// Memory is bounded: at most capacity files are remembered, least recently
// seen first out (a file that went quiet long ago will not be re-sent).
// HighWater is not safe for concurrent use; the Consumer owns one per stream.
type HighWater struct {
	capacity int
	marks    map[fileKey]*list.Element
	lru      *list.List // of *mark, front = most recent
}

type fileKey struct{ host, fingerprint string }

type mark struct {
	key    fileKey
	offset int64
}

// NewHighWater remembers up to capacity files (default 65536).
func NewHighWater(capacity int) *HighWater {
	if capacity <= 0 {
		capacity = 1 << 16
	}
	return &HighWater{capacity: capacity, marks: make(map[fileKey]*list.Element), lru: list.New()}
}

// Len is the number of files remembered.
func (h *HighWater) Len() int { return len(h.marks) }

// Filter returns the events not yet seen, in order, and how many it dropped.
// Events without a fingerprint (event log, SNMP) always pass. Filter does not
// remember anything: call Commit once the kept events were processed, so a
// failed batch is not dropped when it is redelivered.
func (h *HighWater) Filter(evs []event.Event) (kept []event.Event, dropped int) {
	var pending map[fileKey]int64 // marks advanced within this batch
	kept = evs[:0:0]
	for _, ev := range evs {
		fp := ev.Origin.Fingerprint
		if fp == "" {
			kept = append(kept, ev)
			continue
		}
		k := fileKey{ev.Host, fp}
		hw, seen := pending[k]
		if !seen {
			if el, ok := h.marks[k]; ok {
				hw, seen = el.Value.(*mark).offset, true
			}
		}
		if seen && ev.Origin.Offset <= hw {
			dropped++
			continue
		}
		if pending == nil {
			pending = make(map[fileKey]int64)
		}
		pending[k] = ev.Origin.Offset
		kept = append(kept, ev)
	}
	return kept, dropped
}

// Commit records the offsets of processed events.
func (h *HighWater) Commit(evs []event.Event) {
	for _, ev := range evs {
		if ev.Origin.Fingerprint == "" {
			continue
		}
		k := fileKey{ev.Host, ev.Origin.Fingerprint}
		if el, ok := h.marks[k]; ok {
			m := el.Value.(*mark)
			if ev.Origin.Offset > m.offset {
				m.offset = ev.Origin.Offset
			}
			h.lru.MoveToFront(el)
			continue
		}
		h.marks[k] = h.lru.PushFront(&mark{key: k, offset: ev.Origin.Offset})
		if len(h.marks) > h.capacity {
			old := h.lru.Back()
			h.lru.Remove(old)
			delete(h.marks, old.Value.(*mark).key)
		}
	}
}
