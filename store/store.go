// Package store persists what the server must not forget: alerts with their
// history and associated events, operators (tokens stored hashed) and the
// audit log. One interface, implemented on SQLite (pure Go, the default) and
// PostgreSQL, with numbered schema migrations.
package store

import (
	"context"
	"errors"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// ErrNotFound is returned when an alert or operator does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when adding an operator whose name an active
// operator holds.
var ErrExists = errors.New("already exists")

// AlertFilter selects alerts; zero values select everything.
type AlertFilter struct {
	States   []alerts.State
	Severity alerts.Severity // minimum severity
	Rule     string
	Host     string
	Limit    int
}

// HistoryEntry is one recorded change of an alert.
type HistoryEntry struct {
	At       time.Time         `json:"at"`
	Kind     alerts.ChangeKind `json:"kind"`
	By       string            `json:"by"`
	State    alerts.State      `json:"state"`
	Severity alerts.Severity   `json:"severity"`
	Note     string            `json:"note,omitempty"`
}

// AlertDetail is an alert with everything behind it.
type AlertDetail struct {
	Alert   alerts.Alert   `json:"alert"`
	History []HistoryEntry `json:"history"`
	// Events are the first and the latest associated events (bounded);
	// EventCount counts all of them.
	Events     []event.Event `json:"events"`
	EventCount int           `json:"event_count"`
}

// Operator is a person allowed in. There is no customer principal.
type Operator struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// RotatedAt is when the token was last replaced (crmwatch operators rotate).
	RotatedAt *time.Time `json:"rotated_at,omitempty"`
}

// AuditEntry records who did what (trace changes, acknowledgements, operator
// changes).
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// AuditFilter selects audit entries; zero values select everything.
type AuditFilter struct {
	Since time.Time // entries at or after
	Actor string
	Limit int
}

// Store is the server's persistence.
type Store interface {
	// Send persists alert changes in order (it is an alerts.Sender). A repeat
	// of an acknowledged alert keeps it acknowledged.
	Send(ctx context.Context, changes []alerts.Change) error
	// OpenAlerts returns every alert not resolved, for the engine to resume
	// consolidation after a restart.
	OpenAlerts(ctx context.Context) ([]alerts.Alert, error)
	Alerts(ctx context.Context, f AlertFilter) ([]alerts.Alert, error)
	Alert(ctx context.Context, id string) (AlertDetail, error)

	// AddOperator adds an operator; ErrExists when an active operator has
	// the name (a revoked operator's name can be used again).
	AddOperator(ctx context.Context, op Operator, tokenHash []byte) error
	// OperatorByTokenHash returns the active (not revoked) operator.
	OperatorByTokenHash(ctx context.Context, tokenHash []byte) (Operator, error)
	Operators(ctx context.Context) ([]Operator, error)
	RevokeOperator(ctx context.Context, name string, at time.Time) error
	// RotateOperatorToken replaces the active operator's token hash; the
	// old token is refused at once.
	RotateOperatorToken(ctx context.Context, name string, tokenHash []byte, at time.Time) error

	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
	// AuditEntries returns the entries f selects, latest first.
	AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	Close() error
}
