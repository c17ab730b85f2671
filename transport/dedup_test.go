package transport

import (
	"errors"
	"testing"

	"crmwatch/event"
)

func ev(host, fp string, off int64) event.Event {
	return event.Event{Host: host, Origin: event.Origin{Fingerprint: fp, Offset: off}}
}

func TestMarks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    []event.Event
		in        []event.Event
		wantKept  int
		wantDrops int
	}{
		{"nothing seen", nil, []event.Event{ev("h", "a", 0), ev("h", "a", 10)}, 2, 0},
		{"re-sent prefix", []event.Event{ev("h", "a", 0), ev("h", "a", 10)}, []event.Event{ev("h", "a", 0), ev("h", "a", 10), ev("h", "a", 20)}, 1, 2},
		{"other host same file", []event.Event{ev("h", "a", 10)}, []event.Event{ev("g", "a", 0)}, 1, 0},
		{"no fingerprint always passes", []event.Event{{Host: "h"}}, []event.Event{{Host: "h"}, {Host: "h"}}, 2, 0},
		{"duplicate within one batch", nil, []event.Event{ev("h", "a", 5), ev("h", "a", 5)}, 1, 1},
		// One bogus far-ahead offset marks only itself: the file's real
		// records still pass, and their re-sends are still caught.
		{"huge offset does not silence the file", []event.Event{ev("h", "a", 0), ev("h", "a", 1<<50)},
			[]event.Event{ev("h", "a", 0), ev("h", "a", 100), ev("h", "a", 200), ev("h", "a", 100), ev("h", "a", 1<<50)}, 2, 3},
		{"a gap wider than MaxGap starts a new span", []event.Event{ev("h", "a", 0), ev("h", "a", MaxGap+10)},
			[]event.Event{ev("h", "a", 5), ev("h", "a", MaxGap+10)}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMarks(10)
			if _, _, err := m.Filter(tc.before); err != nil {
				t.Fatal(err)
			}
			kept, drops, err := m.Filter(tc.in)
			if err != nil || len(kept) != tc.wantKept || drops != tc.wantDrops {
				t.Errorf("kept %d dropped %d (%v), want %d and %d", len(kept), drops, err, tc.wantKept, tc.wantDrops)
			}
		})
	}
}

// Marks round-trip through the store encoding: a new evaluator that loads
// them drops exactly what the old one evaluated.
func TestMarksPersist(t *testing.T) {
	m := NewMarks(10)
	m.Filter([]event.Event{ev("h", "a", 0), ev("h", "a", 100), ev("h", "b", 7)})
	dirty := m.Dirty()
	if len(dirty) != 2 {
		t.Fatalf("dirty %v", dirty)
	}
	m.Committed()
	if len(m.Dirty()) != 0 {
		t.Fatal("Committed kept dirty marks")
	}
	m2 := NewMarks(10)
	m2.Load = func(k string) (string, bool, error) { v, ok := dirty[k]; return v, ok, nil }
	kept, drops, err := m2.Filter([]event.Event{ev("h", "a", 100), ev("h", "a", 200), ev("h", "b", 7), ev("x", "a", 0)})
	if err != nil || len(kept) != 2 || drops != 2 {
		t.Fatalf("after load: kept %d dropped %d %v", len(kept), drops, err)
	}
	m3 := NewMarks(10)
	m3.Load = func(string) (string, bool, error) { return "", false, errors.New("store down") }
	if _, _, err := m3.Filter([]event.Event{ev("h", "a", 0)}); err == nil {
		t.Fatal("a store failure must stop the batch, not pass duplicates")
	}
}

func TestMarksAreBounded(t *testing.T) {
	m := NewMarks(3)
	for i, fp := range []string{"a", "b", "c", "d"} {
		m.Filter([]event.Event{ev("h", fp, int64(i))})
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	// Spans per file are bounded too: the lowest go first.
	m = NewMarks(3)
	for i := range maxSpans + 5 {
		m.Filter([]event.Event{ev("h", "a", int64(i)*(MaxGap+1))})
	}
	if n := len(m.marks[fileKey{"h", "a"}].Value.(*fileMarks).spans); n != maxSpans {
		t.Fatalf("spans %d", n)
	}
	if kept, _, _ := m.Filter([]event.Event{ev("h", "a", int64(maxSpans+4)*(MaxGap+1))}); len(kept) != 0 {
		t.Fatal("the newest span was dropped")
	}
}

func FuzzMarks(f *testing.F) {
	f.Add(int64(0), int64(100), int64(50), int64(1<<40))
	f.Add(int64(5), int64(5), int64(MaxGap), int64(-1))
	f.Fuzz(func(t *testing.T, a, b, c, d int64) {
		m := NewMarks(4)
		offs := []int64{a, b, c, d}
		var evs []event.Event
		for _, o := range offs {
			evs = append(evs, ev("h", "f", o))
		}
		kept, dropped, _ := m.Filter(evs)
		if len(kept)+dropped != len(evs) {
			t.Fatal("an event was neither kept nor dropped")
		}
		// Everything just seen is a duplicate now.
		if again, _, _ := m.Filter(evs); len(again) != 0 {
			t.Fatalf("offsets %v passed twice", offs)
		}
	})
}

func BenchmarkMarksFilter(b *testing.B) {
	m := NewMarks(0)
	evs := traceEvents("app1", "fp", 0, 100)
	m.Filter(evs[:50])
	b.ReportAllocs()
	for b.Loop() {
		m.Filter(evs)
	}
}
