package notify

import (
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
)

// Decide is the dedup and throttle stage: given what the receiver was last
// told about the alert (from the notification log), it says whether this
// change is worth a notification, like Alertmanager's needsUpdate.
//
//   - An alert that is no longer open is notified resolved once, and only
//     to a receiver that was told it was firing.
//   - An open alert is notified firing when the receiver has not been told
//     it fires, when its severity changed either way, when it was raised
//     or reopened, and otherwise (repeats) at most every repeat interval —
//     reminders, not one page per repeat. An acknowledged alert gets no
//     reminders: someone is on it.
//   - Operators' acknowledgements, comments and assignments notify nobody.
func Decide(prev store.NotifyState, ch *alerts.Committed, now time.Time, repeat time.Duration) store.NotifyVerdict {
	a := &ch.Alert
	skip := store.NotifyVerdict{Next: prev}
	if !a.State.Open() {
		if !prev.Firing {
			return skip
		}
		return store.NotifyVerdict{Send: true, Status: string(StatusResolved), Next: store.NotifyState{Severity: a.Severity, SentAt: now}}
	}
	switch ch.Kind {
	case alerts.ChangeAcknowledged, alerts.ChangeCommented, alerts.ChangeAssigned:
		return skip
	}
	fire := store.NotifyVerdict{Send: true, Status: string(StatusFiring), Next: store.NotifyState{Firing: true, Severity: a.Severity, SentAt: now}}
	switch {
	case !prev.Firing, prev.Severity != a.Severity, ch.Kind == alerts.ChangeRaised, ch.Kind == alerts.ChangeReopened:
		return fire
	case a.State == alerts.StateAcknowledged:
		return skip
	case now.Sub(prev.SentAt) >= repeat:
		return fire
	}
	return skip
}

// suppressed is the drop stage: an alert muted by a maintenance window or
// a silence, or grouped under a parent that explains it, is not notified
// firing (its resolution still goes to receivers told it was firing).
func suppressed(ch *alerts.Committed) bool {
	return ch.Alert.State.Open() && (ch.Alert.SuppressedBy != "" || ch.Alert.ParentID != "")
}
