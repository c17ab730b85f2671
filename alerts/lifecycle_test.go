package alerts

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func engineAlert(n int) Alert {
	return Alert{ID: "a1", Rule: "crm.trace.sql-error", Key: "host=APP1", Severity: SeverityError, State: StateNew,
		RepeatCount: n, FirstSeen: t0, LastSeen: t0.Add(time.Duration(n) * time.Second), Hosts: []string{"APP1"},
		Organizations: []string{"Contoso"}, Summary: fmt.Sprintf("SQL error x%d", n)}
}

func change(kind ChangeKind, n int) Change {
	a := engineAlert(n)
	return Change{Kind: kind, Alert: a, At: a.LastSeen, By: a.Rule, EventCount: 1}
}

func TestMergeLifecycle(t *testing.T) {
	a, h := Merge(nil, change(ChangeRaised, 1))
	if a.State != StateNew || a.Version != 1 || a.EventCount != 1 || h == nil || h.Kind != ChangeRaised {
		t.Fatalf("raise: %+v %+v", a, h)
	}
	a, h = Merge(&a, change(ChangeRepeated, 2))
	if a.RepeatCount != 2 || a.Version != 2 || a.EventCount != 2 || h != nil || a.Summary != "SQL error x2" {
		t.Fatalf("repeat: %+v %+v", a, h)
	}
	// An operator acknowledges; later repeats keep it acknowledged.
	a, hist, err := Action{Kind: ChangeAcknowledged, By: "alice", At: t0.Add(time.Minute), Note: "looking"}.Apply(a)
	if err != nil || a.State != StateAcknowledged || hist.Note != "looking" || hist.By != "alice" {
		t.Fatalf("ack: %v %+v %+v", err, a, hist)
	}
	a, _ = Merge(&a, change(ChangeRepeated, 3))
	if a.State != StateAcknowledged || a.RepeatCount != 3 {
		t.Fatalf("repeat after ack: %+v", a)
	}
	// A replayed older change never rolls counts or times back.
	old := a
	a, _ = Merge(&a, change(ChangeRepeated, 2))
	if a.RepeatCount != 3 || !a.LastSeen.Equal(old.LastSeen) {
		t.Fatalf("replay rolled back: %+v", a)
	}
	// Severity changes either way are recorded.
	c := change(ChangeSeverityChanged, 4)
	c.Alert.Severity = SeverityWarning
	a, h = Merge(&a, c)
	if a.Severity != SeverityWarning || h == nil || h.Kind != ChangeSeverityChanged || a.State != StateAcknowledged {
		t.Fatalf("downgrade: %+v %+v", a, h)
	}
	// The operator resolves while the condition goes on: the next engine
	// change reopens the alert, recorded as such.
	a, _, err = Action{Kind: ChangeResolved, By: "bob", At: t0.Add(2 * time.Minute)}.Apply(a)
	if err != nil || a.State != StateResolved || a.ResolvedAt == nil {
		t.Fatalf("resolve: %v %+v", err, a)
	}
	a, h = Merge(&a, change(ChangeRepeated, 5))
	if a.State != StateNew || a.ResolvedAt != nil || h == nil || h.Kind != ChangeReopened {
		t.Fatalf("reopen: %+v %+v", a, h)
	}
	// The engine resolves; a second resolve is no change and no history.
	a, h = Merge(&a, change(ChangeResolved, 5))
	if a.State != StateResolved || h == nil {
		t.Fatalf("engine resolve: %+v %+v", a, h)
	}
	if _, h = Merge(&a, change(ChangeResolved, 5)); h != nil {
		t.Fatalf("second resolve recorded: %+v", h)
	}
	// Grouping follows the engine and never reopens a resolved alert.
	g := change(ChangeGrouped, 5)
	g.Alert.ParentID = "p1"
	b, h := Merge(&a, g)
	if b.State != StateResolved || b.ParentID != "p1" || h == nil || h.Kind != ChangeGrouped {
		t.Fatalf("group: %+v %+v", b, h)
	}
}

func TestMergeKeepsOperatorFields(t *testing.T) {
	a, _ := Merge(nil, change(ChangeRaised, 1))
	a, _, _ = Action{Kind: ChangeAssigned, By: "alice", Assignee: "bob"}.Apply(a)
	s := change(ChangeSuppressed, 1)
	s.Alert.SuppressedBy = "silence:7"
	a, h := Merge(&a, s)
	if a.SuppressedBy != "silence:7" || h == nil {
		t.Fatalf("suppress: %+v", a)
	}
	a, _ = Merge(&a, change(ChangeRepeated, 2)) // engine snapshot has neither field
	if a.Assignee != "bob" || a.SuppressedBy != "silence:7" {
		t.Fatalf("engine change overwrote operator fields: %+v", a)
	}
	a, h = Merge(&a, change(ChangeUnsuppressed, 2))
	if a.SuppressedBy != "" || h == nil || h.Kind != ChangeUnsuppressed {
		t.Fatalf("unsuppress: %+v %+v", a, h)
	}
}

func TestActionConflicts(t *testing.T) {
	a, _ := Merge(nil, change(ChangeRaised, 1))
	acked, _, err := Action{Kind: ChangeAcknowledged, By: "alice"}.Apply(a)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cur  Alert
		x    Action
		want string
	}{
		{"double ack", acked, Action{Kind: ChangeAcknowledged, By: "bob"}, "is acknowledged"},
		{"stale version", acked, Action{Kind: ChangeResolved, By: "bob", IfVersion: a.Version}, "changed since you saw it"},
		{"ack after resolve", func() Alert { r, _, _ := Action{Kind: ChangeResolved, By: "x"}.Apply(a); return r }(), Action{Kind: ChangeAcknowledged, By: "bob"}, "is resolved"},
		{"resolve twice", func() Alert { r, _, _ := Action{Kind: ChangeResolved, By: "x"}.Apply(a); return r }(), Action{Kind: ChangeResolved, By: "bob"}, "already resolved"},
		{"same assignee", a, Action{Kind: ChangeAssigned, By: "bob"}, "already assigned to nobody"},
	}
	for _, tc := range cases {
		_, _, err := tc.x.Apply(tc.cur)
		var ce *ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Current.ID != "a1" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a conflict saying %q", tc.name, err, tc.want)
		}
	}
	for _, x := range []Action{{Kind: ChangeCommented, By: "a"}, {Kind: ChangeRaised, By: "a"}, {Kind: ChangeAcknowledged}} {
		if _, _, err := x.Apply(a); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("%+v: want a validation error, got %v", x, err)
		}
	}
	// Resolving an acknowledged alert is a real change.
	if r, h, err := (Action{Kind: ChangeResolved, By: "bob", Note: "fixed the SQL login"}).Apply(acked); err != nil || r.State != StateResolved || h.Note != "fixed the SQL login" {
		t.Fatalf("resolve acked: %v %+v", err, h)
	}
}

func TestEventList(t *testing.T) {
	l := NewEventList(ChangeEvents)
	for i := range 10000 {
		l.Add(&event.Event{Message: fmt.Sprint("boom ", i)})
	}
	got := l.List()
	if l.Count() != 10000 || len(got) != ChangeEvents.Max() || got[0].Message != "boom 0" || got[1].Message != "boom 9996" || got[4].Message != "boom 9999" {
		t.Fatalf("got %d: %v", len(got), got)
	}
	l.Reset()
	l.Add(&event.Event{Message: "x"})
	if l.Count() != 1 || len(l.List()) != 1 {
		t.Fatal("reset")
	}
	// Keep agrees with EventList: the first First and the latest Last.
	var kept []int64
	for seq := int64(1); seq <= 100; seq++ {
		if StoredEvents.Keep(seq, 100) {
			kept = append(kept, seq)
		}
	}
	if len(kept) != StoredEvents.Max() || kept[0] != 1 || kept[4] != 5 || kept[5] != 81 {
		t.Fatalf("kept %v", kept)
	}
}
