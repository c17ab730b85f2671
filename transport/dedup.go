package transport

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"crmwatch/event"
)

// Marks drops trace records the server has already evaluated. The tailer
// is at-least-once across hard crashes: an agent that died between
// publishing and saving its checkpoint re-reads the file from the old
// checkpoint, and the re-sent batches are new messages with new
// boundaries, so neither JetStream's Nats-Msg-Id window nor the reader's
// stream position catch them. A record is identified by (host,
// Origin.Fingerprint, Origin.Offset).
//
// Per file, Marks keeps a few spans of offsets already evaluated. A record
// inside a span is a duplicate. A record extends the span just below it
// when it lies within MaxGap of its end (records of one file arrive in
// order, close together), and opens a span of its own otherwise — so one
// bogus far-ahead offset marks only itself and can never silence the
// file's real records.
//
// The evaluator commits the marks a batch changed (Dirty) in the same
// transaction as the batch's alert changes and loads marks it does not
// hold from the store (Load), so they survive restarts and hand-overs.
// Memory is bounded: at most capacity files, least recently seen first
// out. Marks is not safe for concurrent use.
type Marks struct {
	capacity int
	marks    map[fileKey]*list.Element
	lru      *list.List // of *fileMarks, front = most recent
	dirty    map[fileKey]bool
	// Load returns a file's committed marks (ok false when none).
	Load func(key string) (value string, ok bool, err error)
}

// MaxGap is the widest gap between a span's end and a record that extends
// it: larger than any record (the tailer cuts at 1 MiB) with room for
// records an agent filtered out.
const MaxGap = 4 << 20

// maxSpans bounds the spans kept per file; the oldest go first.
const maxSpans = 16

type fileKey struct{ host, fingerprint string }

// key is the store key of a file's marks: a hash, so any host name or
// fingerprint an agent sends (however long, whatever bytes) makes a short
// key every store engine takes.
func (k fileKey) key() string {
	h := sha256.New()
	h.Write([]byte(k.host))
	h.Write([]byte{0})
	h.Write([]byte(k.fingerprint))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type span struct{ Lo, Hi int64 }

type fileMarks struct {
	key   fileKey
	spans []span // sorted by Lo, disjoint
}

// NewMarks remembers up to capacity files (default 65536).
func NewMarks(capacity int) *Marks {
	if capacity <= 0 {
		capacity = 1 << 16
	}
	return &Marks{capacity: capacity, marks: map[fileKey]*list.Element{}, lru: list.New(), dirty: map[fileKey]bool{}}
}

// Len is the number of files held in memory.
func (m *Marks) Len() int { return len(m.marks) }

// Filter returns the events not evaluated before, in order, and how many
// it dropped, and records the kept ones. Events without a fingerprint
// (event log, SNMP) always pass.
func (m *Marks) Filter(evs []event.Event) (kept []event.Event, dropped int, err error) {
	kept = evs[:0:0]
	for i := range evs {
		ev := &evs[i]
		if ev.Origin.Fingerprint == "" {
			kept = append(kept, *ev)
			continue
		}
		fm, err := m.file(fileKey{ev.Host, ev.Origin.Fingerprint})
		if err != nil {
			return nil, 0, err
		}
		if !fm.add(ev.Origin.Offset) {
			dropped++
			continue
		}
		m.dirty[fm.key] = true
		kept = append(kept, *ev)
	}
	return kept, dropped, nil
}

// Dirty returns the encoded marks changed since the last Committed, keyed
// for the store.
func (m *Marks) Dirty() map[string]string {
	if len(m.dirty) == 0 {
		return nil
	}
	out := make(map[string]string, len(m.dirty))
	for k := range m.dirty {
		el, ok := m.marks[k]
		if !ok {
			continue // evicted since; its last committed value stays in the store
		}
		b, _ := json.Marshal(el.Value.(*fileMarks).spans)
		out[k.key()] = string(b)
	}
	return out
}

// Committed forgets which marks changed (they are in the store now).
func (m *Marks) Committed() { clear(m.dirty) }

func (m *Marks) file(k fileKey) (*fileMarks, error) {
	if el, ok := m.marks[k]; ok {
		m.lru.MoveToFront(el)
		return el.Value.(*fileMarks), nil
	}
	fm := &fileMarks{key: k}
	if m.Load != nil {
		v, ok, err := m.Load(k.key())
		if err != nil {
			return nil, fmt.Errorf("load dedup marks of host %q file %q: %w", k.host, k.fingerprint, err)
		}
		if ok {
			if err := json.Unmarshal([]byte(v), &fm.spans); err != nil {
				fm.spans = nil // unreadable: start afresh rather than stop ingest
			}
		}
	}
	m.marks[k] = m.lru.PushFront(fm)
	if len(m.marks) > m.capacity {
		old := m.lru.Back()
		m.lru.Remove(old)
		ok := old.Value.(*fileMarks).key
		delete(m.marks, ok)
	}
	return fm, nil
}

// add records offset o and reports whether it was new.
func (f *fileMarks) add(o int64) bool {
	// i is the first span with Lo > o; the span before it may hold o.
	i, _ := slices.BinarySearchFunc(f.spans, o, func(s span, o int64) int {
		if s.Lo > o {
			return 1
		}
		return -1
	})
	if i > 0 {
		below := &f.spans[i-1]
		if o <= below.Hi {
			return false
		}
		if o-below.Hi <= MaxGap {
			below.Hi = o // o < the next span's Lo, so spans stay disjoint
			return true
		}
	}
	f.spans = slices.Insert(f.spans, i, span{Lo: o, Hi: o})
	if len(f.spans) > maxSpans {
		// Drop the span that ends lowest: re-sends come from the newest data.
		low := 0
		for j, s := range f.spans {
			if s.Hi < f.spans[low].Hi {
				low = j
			}
		}
		f.spans = slices.Delete(f.spans, low, low+1)
	}
	return true
}
