package notify

import (
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	const every = time.Hour
	never := store.NotifyState{}
	told := store.NotifyState{Firing: true, Severity: alerts.SeverityError, SentAt: now.Add(-10 * time.Minute)}
	toldLongAgo := store.NotifyState{Firing: true, Severity: alerts.SeverityError, SentAt: now.Add(-2 * time.Hour)}
	resolvedTold := store.NotifyState{Severity: alerts.SeverityError, SentAt: now.Add(-time.Minute)}
	for _, tc := range []struct {
		name   string
		prev   store.NotifyState
		kind   alerts.ChangeKind
		state  alerts.State
		sev    alerts.Severity
		send   bool
		status Status
	}{
		{"raised", never, alerts.ChangeRaised, alerts.StateNew, alerts.SeverityError, true, StatusFiring},
		{"repeat within the interval", told, alerts.ChangeRepeated, alerts.StateNew, alerts.SeverityError, false, ""},
		{"repeat after the interval is a reminder", toldLongAgo, alerts.ChangeRepeated, alerts.StateNew, alerts.SeverityError, true, StatusFiring},
		{"repeat of an alert never notified", never, alerts.ChangeRepeated, alerts.StateNew, alerts.SeverityError, true, StatusFiring},
		{"severity up", told, alerts.ChangeSeverityChanged, alerts.StateNew, alerts.SeverityCritical, true, StatusFiring},
		{"severity down", told, alerts.ChangeSeverityChanged, alerts.StateNew, alerts.SeverityWarning, true, StatusFiring},
		{"acknowledged", told, alerts.ChangeAcknowledged, alerts.StateAcknowledged, alerts.SeverityError, false, ""},
		{"no reminders once acknowledged", toldLongAgo, alerts.ChangeRepeated, alerts.StateAcknowledged, alerts.SeverityError, false, ""},
		{"comment", told, alerts.ChangeCommented, alerts.StateNew, alerts.SeverityError, false, ""},
		{"resolved after firing", told, alerts.ChangeResolved, alerts.StateResolved, alerts.SeverityError, true, StatusResolved},
		{"resolved never notified", never, alerts.ChangeResolved, alerts.StateResolved, alerts.SeverityError, false, ""},
		{"resolved twice", resolvedTold, alerts.ChangeResolved, alerts.StateResolved, alerts.SeverityError, false, ""},
		{"reopened", resolvedTold, alerts.ChangeReopened, alerts.StateNew, alerts.SeverityError, true, StatusFiring},
		{"unsuppressed", never, alerts.ChangeUnsuppressed, alerts.StateNew, alerts.SeverityError, true, StatusFiring},
	} {
		ch := &alerts.Committed{Kind: tc.kind, Alert: alerts.Alert{ID: "a", State: tc.state, Severity: tc.sev}}
		v := Decide(tc.prev, ch, now, every)
		if v.Send != tc.send || (tc.send && Status(v.Status) != tc.status) {
			t.Errorf("%s: send %v status %q; want %v %q", tc.name, v.Send, v.Status, tc.send, tc.status)
		}
		if !v.Send && v.Next != tc.prev {
			t.Errorf("%s: a skipped change moved the state %+v → %+v", tc.name, tc.prev, v.Next)
		}
		if v.Send && (!v.Next.SentAt.Equal(now) || v.Next.Firing != (tc.status == StatusFiring) || v.Next.Severity != tc.sev) {
			t.Errorf("%s: next state %+v", tc.name, v.Next)
		}
	}
}

func TestSuppressedStage(t *testing.T) {
	open := alerts.Alert{State: alerts.StateNew}
	for _, tc := range []struct {
		a    alerts.Alert
		drop bool
	}{
		{open, false},
		{alerts.Alert{State: alerts.StateNew, SuppressedBy: "maintenance:m1"}, true},
		{alerts.Alert{State: alerts.StateAcknowledged, ParentID: "p"}, true},
		{alerts.Alert{State: alerts.StateResolved, SuppressedBy: "silence:s1"}, false},
	} {
		if got := suppressed(&alerts.Committed{Alert: tc.a}); got != tc.drop {
			t.Errorf("%+v: dropped %v", tc.a, got)
		}
	}
}
