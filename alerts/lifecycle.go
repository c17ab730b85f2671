package alerts

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Merge applies an engine change to the stored alert cur (nil when the
// store has none) and returns the alert to store and the history entry to
// record (nil for none).
//
// The engine owns what it computes — counts, last seen, severity, hosts,
// organizations, summary, fields, the parent — and counts and times only
// grow, so merging a change twice (a replay) changes nothing. The store
// owns what people did: an acknowledged alert stays acknowledged under
// repeats, and the assignee and suppression are never taken from the
// engine. An engine change that finds the alert resolved (an operator
// resolved it while the condition went on) reopens it.
func Merge(cur *Alert, c Change) (Alert, *HistoryEntry) {
	at := c.At
	if at.IsZero() {
		at = c.Alert.LastSeen
	}
	if cur == nil {
		a := c.Alert
		a.State = StateNew
		a.ResolvedAt = nil
		a.EventCount = c.EventCount
		a.Version = 1
		kind := c.Kind
		switch c.Kind {
		case ChangeResolved:
			a.State = StateResolved
			a.ResolvedAt = resolvedAt(c, at)
		case ChangeRepeated, ChangeSeverityChanged, ChangeGrouped, ChangeUngrouped, ChangeSuppressed, ChangeUnsuppressed:
			kind = ChangeRaised // first sight in this store
		}
		return a, entry(a, kind, at, c)
	}
	a := *cur
	a.Version++
	a.EventCount += c.EventCount
	engineFields(&a, &c.Alert)
	var h *HistoryEntry
	switch c.Kind {
	case ChangeResolved:
		if a.State.Open() {
			a.State, a.ResolvedAt = StateResolved, resolvedAt(c, at)
			h = entry(a, ChangeResolved, at, c)
		}
	case ChangeSuppressed, ChangeUnsuppressed:
		by := c.Alert.SuppressedBy
		if c.Kind == ChangeUnsuppressed {
			by = ""
		}
		if a.SuppressedBy != by {
			a.SuppressedBy = by
			h = entry(a, c.Kind, at, c)
		}
	case ChangeGrouped, ChangeUngrouped:
		// Grouping follows the engine's view and never reopens.
		if a.ParentID != cur.ParentID {
			h = entry(a, c.Kind, at, c)
		}
	default:
		if a.State == StateResolved {
			a.State, a.ResolvedAt, a.SuppressedBy = StateNew, nil, c.Alert.SuppressedBy
			return a, entry(a, ChangeReopened, at, c)
		}
		if c.Kind == ChangeSeverityChanged || c.Kind == ChangeReopened {
			h = entry(a, c.Kind, at, c)
		}
	}
	return a, h
}

func engineFields(a, e *Alert) {
	if e.Rule != "" {
		a.Rule = e.Rule
	}
	a.Key = e.Key
	if e.Severity.Rank() > 0 {
		a.Severity = e.Severity
	}
	a.RepeatCount = max(a.RepeatCount, e.RepeatCount)
	if !e.FirstSeen.IsZero() && (a.FirstSeen.IsZero() || e.FirstSeen.Before(a.FirstSeen)) {
		a.FirstSeen = e.FirstSeen
	}
	if e.LastSeen.After(a.LastSeen) {
		a.LastSeen = e.LastSeen
	}
	if e.Hosts != nil {
		a.Hosts = slices.Clone(e.Hosts)
	}
	if e.Organizations != nil {
		a.Organizations = slices.Clone(e.Organizations)
	}
	if e.Summary != "" {
		a.Summary = e.Summary
	}
	if e.Knowledge != (Knowledge{}) {
		a.Knowledge = e.Knowledge
	}
	if e.Fields != nil {
		a.Fields = e.Fields
	}
	a.ParentID = e.ParentID
}

func resolvedAt(c Change, at time.Time) *time.Time {
	if c.Alert.ResolvedAt != nil && !c.Alert.ResolvedAt.IsZero() {
		t := *c.Alert.ResolvedAt
		return &t
	}
	return &at
}

func entry(a Alert, kind ChangeKind, at time.Time, c Change) *HistoryEntry {
	if kind == ChangeRepeated {
		return nil
	}
	return &HistoryEntry{At: at, Kind: kind, By: c.By, State: a.State, Severity: a.Severity, Note: c.Note}
}

// Action is what an operator asks of an alert.
type Action struct {
	Kind ChangeKind // Acknowledged, Resolved, Commented or Assigned
	By   string     // the operator's name
	At   time.Time
	// Note is the comment (required for Commented, optional otherwise).
	Note string
	// Assignee for Assigned ("" takes the assignment away).
	Assignee string
	// IfVersion, when set, refuses the action unless the alert is still at
	// this version: the operator acts only on the alert they saw.
	IfVersion int64
}

// MaxNote bounds a comment.
const MaxNote = 4096

// ErrConflict is wrapped by every ConflictError.
var ErrConflict = errors.New("conflict")

// ConflictError refuses an action the alert's current state does not
// allow; Current is that state, for the caller to show.
type ConflictError struct {
	Current Alert
	Reason  string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("alert %s: %s", e.Current.ID, e.Reason)
}

// Unwrap makes errors.Is(err, ErrConflict) work.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Validate checks an action on its own (before the alert is read).
func (x Action) Validate() error {
	var errs []error
	switch x.Kind {
	case ChangeAcknowledged, ChangeResolved, ChangeAssigned:
	case ChangeCommented:
		if x.Note == "" {
			errs = append(errs, errors.New("a comment needs text"))
		}
	default:
		errs = append(errs, fmt.Errorf("%q is not an operator action (want acknowledged, resolved, commented or assigned)", x.Kind))
	}
	if x.By == "" {
		errs = append(errs, errors.New("the acting operator is not named"))
	}
	if len(x.Note) > MaxNote {
		errs = append(errs, fmt.Errorf("comment is %d bytes; at most %d", len(x.Note), MaxNote))
	}
	return errors.Join(errs...)
}

// Apply performs an operator action on the stored alert cur. It refuses,
// with a *ConflictError naming the current state, what that state does not
// allow: acknowledging an alert that is not new, resolving one that is
// already resolved, or acting on a version the operator did not see. Every
// accepted action is one history entry.
func (x Action) Apply(cur Alert) (Alert, HistoryEntry, error) {
	if err := x.Validate(); err != nil {
		return cur, HistoryEntry{}, err
	}
	if x.IfVersion != 0 && x.IfVersion != cur.Version {
		return cur, HistoryEntry{}, &ConflictError{Current: cur, Reason: fmt.Sprintf("changed since you saw it (version %d, now %d, %s)", x.IfVersion, cur.Version, cur.State)}
	}
	a := cur
	at := x.At
	switch x.Kind {
	case ChangeAcknowledged:
		if a.State != StateNew {
			return cur, HistoryEntry{}, &ConflictError{Current: cur, Reason: "is " + string(a.State) + ", only a new alert can be acknowledged"}
		}
		a.State = StateAcknowledged
	case ChangeResolved:
		if !a.State.Open() {
			return cur, HistoryEntry{}, &ConflictError{Current: cur, Reason: "is already resolved"}
		}
		a.State, a.ResolvedAt = StateResolved, &at
	case ChangeAssigned:
		if a.Assignee == x.Assignee {
			return cur, HistoryEntry{}, &ConflictError{Current: cur, Reason: "is already assigned to " + orNobody(x.Assignee)}
		}
		a.Assignee = x.Assignee
	}
	a.Version++
	note := x.Note
	if x.Kind == ChangeAssigned && note == "" {
		note = "assigned to " + orNobody(x.Assignee)
	}
	return a, HistoryEntry{At: at, Kind: x.Kind, By: x.By, State: a.State, Severity: a.Severity, Note: note}, nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
