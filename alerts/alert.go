// Package alerts holds the alert model and owns its lifecycle: what the
// rules engine raises, how engine changes merge into a stored alert, which
// operator actions are allowed from which state, and the bound on the
// events kept with an alert. The rules engine decides, the store persists,
// the API and notifiers call this package; no lifecycle rule lives in SQL
// or HTTP handlers.
//
// The rules engine hands alert changes to a Sender and never imports the
// store or the notifiers.
package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"crmwatch/event"
)

// Severity of an alert, as the NOC sees it.
type Severity string

// Severities, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityError    Severity = "error"
	SeverityCritical Severity = "critical"
)

// Rank orders severities (info=1 … critical=4); unknown values rank 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityError:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// ParseSeverity validates s (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q (want info, warning, error or critical)", s)
	}
	return v, nil
}

// State of an alert in its lifecycle.
type State string

// States: an alert is raised New, an operator may Acknowledge it, and it is
// Resolved by the engine (condition cleared or timed out) or by an operator.
// A resolved alert whose condition returns is reopened (New again).
const (
	StateNew          State = "new"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Open reports whether the alert still consolidates repeats.
func (s State) Open() bool { return s == StateNew || s == StateAcknowledged }

// Valid reports whether s is one of the three states.
func (s State) Valid() bool { return s.Open() || s == StateResolved }

// Knowledge tells the operator what the alert means and what to do.
type Knowledge struct {
	Cause      string `json:"cause,omitempty" yaml:"cause,omitempty"`
	Resolution string `json:"resolution,omitempty" yaml:"resolution,omitempty"`
}

// Alert is one consolidated alert.
type Alert struct {
	ID string `json:"id"`
	// Rule is the id of the rule that raised it.
	Rule string `json:"rule"`
	// Key identifies what the alert is about within its rule (the rule's
	// group-by values, e.g. host and organization). Repeats with the same
	// rule and key consolidate into the open alert.
	Key      string   `json:"key,omitempty"`
	Severity Severity `json:"severity"`
	State    State    `json:"state"`
	// RepeatCount counts the occurrences consolidated into the alert: each
	// matching event for event and correlation rules, each evaluation in
	// violation for counter and availability rules.
	RepeatCount int `json:"repeat_count"`
	// EventCount counts the events associated with the alert (all of them;
	// only the first and latest are kept). For event and correlation rules
	// every occurrence is an event, so it equals RepeatCount; counter and
	// availability alerts have none.
	EventCount    int               `json:"event_count"`
	FirstSeen     time.Time         `json:"first_seen"`
	LastSeen      time.Time         `json:"last_seen"`
	ResolvedAt    *time.Time        `json:"resolved_at,omitempty"`
	Hosts         []string          `json:"hosts"`
	Organizations []string          `json:"organizations"`
	Summary       string            `json:"summary"`
	Knowledge     Knowledge         `json:"knowledge"`
	Fields        map[string]string `json:"fields,omitempty"`
	// ParentID is the alert that explains this one (root-cause grouping);
	// a child stays visible under its parent and is not notified on its own.
	ParentID string `json:"parent_id,omitempty"`
	// Assignee is the operator who took the alert.
	Assignee string `json:"assignee,omitempty"`
	// SuppressedBy names the maintenance window or silence the alert was
	// raised in ("maintenance:ID", "silence:ID"): recorded and visible, not
	// handed to notifiers.
	SuppressedBy string `json:"suppressed_by,omitempty"`
	// Version grows with every committed change; operators' clients may
	// send it back to act only on the alert they saw.
	Version int64 `json:"version"`
}

// ChangeKind says what happened to an alert.
type ChangeKind string

// Change kinds. The rules engine emits Raised, Repeated, SeverityChanged
// (in either direction), Resolved, Reopened, Grouped and Ungrouped; the
// server's evaluator adds Suppressed and Unsuppressed; operators cause
// Acknowledged, Resolved, Commented and Assigned.
const (
	ChangeRaised          ChangeKind = "raised"
	ChangeRepeated        ChangeKind = "repeated"
	ChangeSeverityChanged ChangeKind = "severity_changed"
	ChangeResolved        ChangeKind = "resolved"
	ChangeReopened        ChangeKind = "reopened"
	ChangeAcknowledged    ChangeKind = "acknowledged"
	ChangeCommented       ChangeKind = "commented"
	ChangeAssigned        ChangeKind = "assigned"
	ChangeGrouped         ChangeKind = "grouped"
	ChangeUngrouped       ChangeKind = "ungrouped"
	ChangeSuppressed      ChangeKind = "suppressed"
	ChangeUnsuppressed    ChangeKind = "unsuppressed"
)

// Kinds lists every change kind.
var Kinds = []ChangeKind{ChangeRaised, ChangeRepeated, ChangeSeverityChanged, ChangeResolved, ChangeReopened,
	ChangeAcknowledged, ChangeCommented, ChangeAssigned, ChangeGrouped, ChangeUngrouped, ChangeSuppressed, ChangeUnsuppressed}

// Valid reports whether k is a known kind.
func (k ChangeKind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Change is one step in an alert's life as the engine (or the evaluator)
// decided it: the alert as the engine sees it after the change, the events
// that caused it (a bounded sample; EventCount counts all of them), when,
// and who (a rule id for the engine).
type Change struct {
	Kind       ChangeKind    `json:"kind"`
	Alert      Alert         `json:"alert"`
	Events     []event.Event `json:"events,omitempty"`
	EventCount int           `json:"event_count,omitempty"`
	At         time.Time     `json:"at"`
	By         string        `json:"by"`
	Note       string        `json:"note,omitempty"`
}

// Sender receives alert changes in the order they happened. Send must not
// return until the changes are taken (durable, or buffered by a caller that
// makes them durable); the engine never imports the store or notifiers.
type Sender interface {
	Send(ctx context.Context, changes []Change) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, changes []Change) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, changes []Change) error { return f(ctx, changes) }

// HistoryEntry is one recorded change of an alert (repeats are not
// recorded: they only move the counters).
type HistoryEntry struct {
	At       time.Time  `json:"at"`
	Kind     ChangeKind `json:"kind"`
	By       string     `json:"by"`
	State    State      `json:"state"`
	Severity Severity   `json:"severity"`
	Note     string     `json:"note,omitempty"`
}

// Committed is a change as the store committed it: the alert after the
// merge (with the state operators gave it), numbered by the store in commit
// order. It is what the alert-changes stream carries to notifiers and
// consoles.
type Committed struct {
	// Seq is the store's number for the change; notifiers deduplicate on it.
	Seq        int64         `json:"seq"`
	Kind       ChangeKind    `json:"kind"`
	Alert      Alert         `json:"alert"`
	Events     []event.Event `json:"events,omitempty"`
	EventCount int           `json:"event_count,omitempty"`
	At         time.Time     `json:"at"`
	By         string        `json:"by"`
	Note       string        `json:"note,omitempty"`
}
