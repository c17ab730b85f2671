// Package store names what the server must not forget, as narrow
// interfaces by concern — alerts, the evaluator's progress, the outbox of
// committed changes, operators, the audit log, maintenance and silences —
// so each consumer takes only what it uses. store/sqlstore implements all
// of them on SQLite (pure Go, the default) and PostgreSQL.
package store

import (
	"context"
	"errors"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/event"
)

// ErrNotFound is returned when an alert or operator does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when adding an operator whose name an active
// operator holds.
var ErrExists = errors.New("already exists")

// ErrFenced is returned to an evaluator whose epoch is no longer the
// latest: another server took the evaluator role, so this one must stop
// committing (nothing of the refused commit was stored).
var ErrFenced = errors.New("fenced: another server holds the evaluator role")

// AlertFilter selects alerts; zero values select everything.
type AlertFilter struct {
	States   []alerts.State
	Severity alerts.Severity // minimum severity
	Rule     string
	Host     string
	// Hosts keeps alerts on any of these hosts (the API's role filter:
	// the hosts whose agents announce the role).
	Hosts        []string
	Organization string
	Assignee     string
	// TopLevel keeps only alerts without a parent; Parent keeps only the
	// children of that alert.
	TopLevel bool
	Parent   string
	// Limit and Offset page through the result (most recently seen first).
	Limit  int
	Offset int
}

// AlertPage is one page of alerts and how many match in all.
type AlertPage struct {
	Alerts []alerts.Alert
	Total  int
	// Children counts the children of each listed alert that has any.
	Children map[string]int
}

// AlertDetail is an alert with everything behind it.
type AlertDetail struct {
	Alert   alerts.Alert          `json:"alert"`
	History []alerts.HistoryEntry `json:"history"`
	// Events are the first and the latest associated events (bounded);
	// Alert.EventCount counts all of them.
	Events []event.Event `json:"events"`
}

// Commit is what the evaluator stores in one transaction: the engine's
// changes, how far it has read each stream, and the dedup marks those
// reads moved. Either all of it is stored or none, so a crash between
// evaluation and commit replays exactly the uncommitted input.
type Commit struct {
	// Epoch is the evaluator's fencing token (Fence); a commit under an
	// older epoch is refused with ErrFenced. 0 skips the check (tools and
	// tests without an evaluator).
	Epoch     int64
	Changes   []alerts.Change
	Positions map[string]uint64 // stream → last sequence evaluated
	Marks     map[string]string // dedup mark key → encoded value
}

// Alerts keeps alerts, their history and their events.
type Alerts interface {
	// Commit merges engine changes (alerts.Merge) and stores the
	// evaluator's progress atomically; it returns the changes as
	// committed, numbered, in order.
	Commit(ctx context.Context, c Commit) ([]alerts.Committed, error)
	// Act applies an operator action (alerts.Action.Apply) serialised with
	// every other change of the alert, and audits it in the same
	// transaction. A refused action returns the *alerts.ConflictError.
	Act(ctx context.Context, id string, x alerts.Action) (alerts.Committed, error)
	Alerts(ctx context.Context, f AlertFilter) (AlertPage, error)
	Alert(ctx context.Context, id string) (AlertDetail, error)
	// EngineAlerts returns what an evaluator restores: every open alert and
	// those resolved at or after resolvedSince (for reopening).
	EngineAlerts(ctx context.Context, resolvedSince time.Time) ([]alerts.Alert, error)
}

// Progress is the evaluator's durable state.
type Progress struct {
	Epoch     int64
	Holder    string
	Positions map[string]uint64
}

// Evaluator keeps the evaluator role's fencing token and progress.
type Evaluator interface {
	// Fence records that holder took the evaluator role at epoch; it fails
	// with ErrFenced when a later epoch is already recorded.
	Fence(ctx context.Context, holder string, epoch int64) error
	Progress(ctx context.Context) (Progress, error)
	// Mark returns a dedup mark committed earlier.
	Mark(ctx context.Context, key string) (value string, ok bool, err error)
	// PruneMarks drops marks not updated since before.
	PruneMarks(ctx context.Context, before time.Time) (int, error)
}

// Outbox holds committed changes until they are published.
type Outbox interface {
	// Unpublished returns committed changes not yet marked published,
	// oldest first, committed at or before olderThan.
	Unpublished(ctx context.Context, olderThan time.Time, limit int) ([]alerts.Committed, error)
	MarkPublished(ctx context.Context, seqs []int64) error
	// PruneChanges drops published changes committed before before.
	PruneChanges(ctx context.Context, before time.Time) (int, error)
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

// Operators keeps the operators and their token hashes.
type Operators interface {
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
}

// AgentCredential is an enrolled agent: the public part of its NATS key
// (the seed stays in its credentials file) and who enrolled it.
type AgentCredential struct {
	Name string `json:"name"`
	// Token is Name reduced to one NATS subject token: what its
	// permissions are built from, unique among active credentials.
	Token      string     `json:"-"`
	PublicKey  string     `json:"public_key"`
	Roles      []string   `json:"roles,omitempty"`
	EnrolledAt time.Time  `json:"enrolled_at"`
	EnrolledBy string     `json:"enrolled_by"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// AgentCredentials keeps the enrolled agents.
type AgentCredentials interface {
	// EnrollAgent stores a credential; ErrExists when an active one has
	// the same token.
	EnrollAgent(ctx context.Context, c AgentCredential) error
	// AgentCredentials lists every credential, revoked ones included, by
	// name then enrolment.
	AgentCredentials(ctx context.Context) ([]AgentCredential, error)
	// RevokeAgent ends the active credential of the token; ErrNotFound
	// when there is none.
	RevokeAgent(ctx context.Context, token string, at time.Time) error
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

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Since time.Time // entries at or after
	Actor string
	Limit int
}

// Auditor appends to and reads the audit log.
type Auditor interface {
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// Store is everything the server process wires: the union of the
// interfaces above. Components take the narrow one they need.
type Store interface {
	Alerts
	Evaluator
	Outbox
	Operators
	Auditor
	Suppressions
	AgentCredentials
	NotificationLog
	Sessions
	Close() error
}

// Suppressions keeps maintenance windows and silences.
type Suppressions interface {
	AddWindow(ctx context.Context, w suppress.Window) error
	Windows(ctx context.Context) ([]suppress.Window, error)
	// RemoveWindow deletes a window; ErrNotFound if there is none.
	RemoveWindow(ctx context.Context, id string) error
	AddSilence(ctx context.Context, s suppress.Silence) error
	// Silences returns every silence, expired ones included, newest first.
	Silences(ctx context.Context) ([]suppress.Silence, error)
	// ExpireSilence ends a silence at at; ErrNotFound if there is none.
	ExpireSilence(ctx context.Context, id string, at time.Time) error
}

// Notification results in the log.
const (
	DeliverySending = "sending" // claimed; the send is under way (or its server died)
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // the receiver kept refusing until the retries ran out
)

// NotifyState is what one receiver was last told about one alert.
type NotifyState struct {
	// Version is the alert version of the last change decided for this
	// receiver, sent or not; older changes are superseded.
	Version int64
	// Firing: the last notification sent said firing (not resolved).
	Firing   bool
	Severity alerts.Severity
	// SentAt is when the last notification was sent (zero: never).
	SentAt time.Time
}

// NotifyCandidate is a committed change a route gives to a receiver.
type NotifyCandidate struct {
	Seq      int64
	Receiver string
	AlertID  string
	Version  int64
	Kind     alerts.ChangeKind
}

// NotifyVerdict is the pipeline's decision on a candidate.
type NotifyVerdict struct {
	Send bool
	// Status of the notification: "firing" or "resolved".
	Status string
	// Next is the receiver's state for the alert after the decision.
	Next NotifyState
}

// Delivery is one notification in the log.
type Delivery struct {
	Seq      int64             `json:"change_seq"`
	Receiver string            `json:"receiver"`
	AlertID  string            `json:"alert_id"`
	Kind     alerts.ChangeKind `json:"kind"`
	// Status is "firing" or "resolved"; Result DeliverySending, DeliverySent
	// or DeliveryFailed.
	Status    string     `json:"status"`
	Result    string     `json:"result"`
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error,omitempty"`
	Holder    string     `json:"server"`
	ClaimedAt time.Time  `json:"claimed_at"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
}

// NotificationLog is the notification log: the notifiers' memory shared by
// every server.
type NotificationLog interface {
	// ClaimNotifications decides every candidate in one transaction and
	// returns the deliveries holder must now send. A candidate already in
	// the log is returned only when its claim is still "sending" from
	// before staleBefore (its server died mid-send), and counted in busy
	// when a newer claim is still sending (the caller comes back later:
	// once that claim is finished or stale); one whose alert
	// version is not newer than the receiver's state is superseded; any
	// other is given to decide with the receiver's state, and a verdict to
	// send is logged as claimed by holder. decide must be pure: it may run
	// again when the transaction is retried.
	ClaimNotifications(ctx context.Context, holder string, staleBefore time.Time, cs []NotifyCandidate,
		decide func(NotifyState, NotifyCandidate) NotifyVerdict) (claimed []Delivery, busy int, err error)
	// FinishNotifications records the results (Result, Attempts, Error,
	// DoneAt) of claimed deliveries.
	FinishNotifications(ctx context.Context, ds []Delivery) error
	// Notifications lists an alert's deliveries in change order.
	Notifications(ctx context.Context, alertID string) ([]Delivery, error)
	// PruneNotifications drops deliveries finished (or claimed and never
	// finished) before before, the receivers' state of alerts resolved
	// before before, and the health of receivers that have not refused
	// anything since before; it returns the deliveries dropped.
	PruneNotifications(ctx context.Context, before time.Time) (int, error)
	// RecordSend notes one send attempt to a receiver: a refusal counts
	// one more failure in a row (errText says why, without secrets), an
	// accepted send ends the streak.
	RecordSend(ctx context.Context, receiver string, ok bool, errText string, at time.Time) error
	// ReceiverHealth lists the receivers with a streak of refusals.
	ReceiverHealth(ctx context.Context) ([]ReceiverHealth, error)
}

// ReceiverHealth is a receiver's current streak of refused sends.
type ReceiverHealth struct {
	Receiver string
	// Failures is how many send attempts in a row it refused (0: its last
	// attempt got through).
	Failures int64
	// FailingSince is when the first of them was made.
	FailingSince time.Time
	LastError    string
	UpdatedAt    time.Time
}

// Session is a browser session of the operator console.
type Session struct {
	// IDHash is the SHA-256 of the session id the cookie holds.
	IDHash    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions keeps console sessions. A session is valid only while it has
// not expired and its operator is active with the token it signed in
// with: revoking the operator or rotating the token ends it at once.
type Sessions interface {
	// CreateSession opens a session for the active operator holding the
	// token whose hash is given; ErrNotFound when there is none.
	CreateSession(ctx context.Context, s Session, tokenHash []byte) (Operator, error)
	// SessionOperator returns the operator of a valid session at now;
	// ErrNotFound when it is unknown, expired, revoked or rotated away.
	SessionOperator(ctx context.Context, idHash []byte, now time.Time) (Operator, Session, error)
	// DeleteSession ends a session (signing out); unknown ids are no error.
	DeleteSession(ctx context.Context, idHash []byte) error
	// PruneSessions drops sessions that expired before before.
	PruneSessions(ctx context.Context, before time.Time) (int, error)
}
