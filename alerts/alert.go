// Package alerts holds the alert model and its lifecycle: what the rules
// engine raises, what the store keeps, and what the API and notifiers show.
//
// The rules engine hands alert changes to a Sender and never imports the store
// or the notifiers; the server wires a Sender that persists and notifies.
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
const (
	StateNew          State = "new"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Open reports whether the alert still consolidates repeats.
func (s State) Open() bool { return s == StateNew || s == StateAcknowledged }

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
	Key           string            `json:"key,omitempty"`
	Severity      Severity          `json:"severity"`
	State         State             `json:"state"`
	RepeatCount   int               `json:"repeat_count"`
	FirstSeen     time.Time         `json:"first_seen"`
	LastSeen      time.Time         `json:"last_seen"`
	ResolvedAt    *time.Time        `json:"resolved_at,omitempty"`
	Hosts         []string          `json:"hosts"`
	Organizations []string          `json:"organizations"`
	Summary       string            `json:"summary"`
	Knowledge     Knowledge         `json:"knowledge"`
	Fields        map[string]string `json:"fields,omitempty"`
}

// ChangeKind says what happened to an alert.
type ChangeKind string

// Change kinds emitted by the rules engine (Raised, Repeated, Escalated,
// Resolved) and by operators (Acknowledged, Resolved).
const (
	ChangeRaised       ChangeKind = "raised"
	ChangeRepeated     ChangeKind = "repeated"
	ChangeEscalated    ChangeKind = "severity_changed"
	ChangeResolved     ChangeKind = "resolved"
	ChangeAcknowledged ChangeKind = "acknowledged"
)

// Change is one step in an alert's life: the alert as it is after the change,
// the events that caused it (may be empty, e.g. for a timeout), when, and who
// (a rule id for the engine, an operator name for a person).
type Change struct {
	Kind   ChangeKind    `json:"kind"`
	Alert  Alert         `json:"alert"`
	Events []event.Event `json:"events,omitempty"`
	At     time.Time     `json:"at"`
	By     string        `json:"by"`
}

// Sender receives alert changes in the order they happened. Send must not
// return until the changes are durable (or return an error so the caller can
// retry); the engine never imports the store or notifiers.
type Sender interface {
	Send(ctx context.Context, changes []Change) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, changes []Change) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, changes []Change) error { return f(ctx, changes) }
