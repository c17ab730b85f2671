package transport

import (
	"testing"

	"crmwatch/event"
)

func ev(host, fp string, off int64) event.Event {
	return event.Event{Host: host, Origin: event.Origin{Fingerprint: fp, Offset: off}}
}

func TestHighWater(t *testing.T) {
	for _, tc := range []struct {
		name      string
		committed []event.Event
		in        []event.Event
		wantKept  int
		wantDrops int
	}{
		{"nothing seen", nil, []event.Event{ev("h", "a", 0), ev("h", "a", 10)}, 2, 0},
		{"re-sent prefix", []event.Event{ev("h", "a", 0), ev("h", "a", 10)}, []event.Event{ev("h", "a", 0), ev("h", "a", 10), ev("h", "a", 20)}, 1, 2},
		{"other host same file", []event.Event{ev("h", "a", 10)}, []event.Event{ev("g", "a", 0)}, 1, 0},
		{"no fingerprint always passes", []event.Event{{Host: "h"}}, []event.Event{{Host: "h"}, {Host: "h"}}, 2, 0},
		{"duplicate within one batch", nil, []event.Event{ev("h", "a", 5), ev("h", "a", 5)}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHighWater(10)
			h.Commit(tc.committed)
			kept, drops := h.Filter(tc.in)
			if len(kept) != tc.wantKept || drops != tc.wantDrops {
				t.Errorf("kept %d dropped %d, want %d and %d", len(kept), drops, tc.wantKept, tc.wantDrops)
			}
		})
	}
}

func TestHighWaterFilterDoesNotRemember(t *testing.T) {
	h := NewHighWater(10)
	in := []event.Event{ev("h", "a", 0)}
	h.Filter(in) // handler failed: nothing committed
	if kept, _ := h.Filter(in); len(kept) != 1 {
		t.Fatal("a redelivered batch whose handler failed was dropped")
	}
}

func TestHighWaterIsBounded(t *testing.T) {
	h := NewHighWater(3)
	for i, fp := range []string{"a", "b", "c", "d"} {
		h.Commit([]event.Event{ev("h", fp, int64(i))})
	}
	if h.Len() != 3 {
		t.Fatalf("Len = %d, want 3", h.Len())
	}
	// "a" was least recently seen and is forgotten; "d" is remembered.
	if kept, _ := h.Filter([]event.Event{ev("h", "a", 0)}); len(kept) != 1 {
		t.Error("evicted file still filtered")
	}
	if kept, _ := h.Filter([]event.Event{ev("h", "d", 3)}); len(kept) != 0 {
		t.Error("recent file forgotten")
	}
}

func BenchmarkHighWaterFilter(b *testing.B) {
	h := NewHighWater(0)
	evs := traceEvents("app1", "fp", 0, 100)
	h.Commit(evs[:50])
	b.ReportAllocs()
	for b.Loop() {
		kept, _ := h.Filter(evs)
		h.Commit(kept)
	}
}
