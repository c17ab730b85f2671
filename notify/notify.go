// Package notify tells people about alerts: it reads committed alert
// changes from the alert-changes stream and hands them to receivers
// (webhook, Alertmanager, …) through a pipeline of small stages, modelled
// on Alertmanager's notify/notify.go:
//
//	route → drop suppressed → dedup and throttle against the notification
//	log → send with retry and backoff → record
//
// Each receiver reads the stream with a durable consumer of its own that
// every server shares, and the notification log in the store decides
// before each send, so a restarted server or a second one never sends a
// change to a receiver twice. Every attempt also lands in the receivers'
// shared health, from which the evaluator raises an alert about a
// receiver that keeps refusing (RuleReceiverFailing, never sent to that
// receiver), and PruneLoop keeps the log from growing for ever. A
// receiver is the small Receiver interface;
// the receivers live in sub-packages, notify/config builds them from the
// server's configuration file.
package notify

import (
	"context"
	"strconv"
	"time"

	"crmwatch/alerts"
)

// Status of a notification: the alert is firing, or it was resolved.
type Status string

// Statuses.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Notification is what a receiver sends: one committed change of one
// alert, as the receiver should present it.
type Notification struct {
	// ID is the same for every attempt to send one change to one receiver
	// (also after a takeover by another server), so a peer can
	// deduplicate the one case the log cannot close: a server dying
	// between the send and recording it.
	ID     string            `json:"id"`
	Seq    int64             `json:"change_seq"`
	Kind   alerts.ChangeKind `json:"kind"`
	Status Status            `json:"status"`
	Alert  alerts.Alert      `json:"alert"`
	// OrganizationNames are the display names of Alert.Organizations,
	// position by position ("" where none is known).
	OrganizationNames []string `json:"organization_names,omitempty"`
	// Roles are the CRM roles of the alert's hosts, as their agents
	// announced them.
	Roles []string `json:"roles,omitempty"`
	// PreviousSeverity is the severity this receiver was told the alert
	// fires with before this notification, when it differs (a severity
	// change); receivers that key alerts by severity end the old one.
	PreviousSeverity alerts.Severity `json:"previous_severity,omitempty"`
	// At is when the change happened.
	At time.Time `json:"at"`
	// ConsoleURL links to the alert ("" when no console URL is configured).
	ConsoleURL string `json:"console_url,omitempty"`
	// Test marks a notification sent by `crmwatch notify test`.
	Test bool `json:"test,omitempty"`
}

// NotificationID names the delivery of change seq (to one receiver).
func NotificationID(seq int64) string { return "crmwatch-change-" + strconv.FormatInt(seq, 10) }

// Receiver sends notifications to one peer. Notify sends them all or
// fails; retry says whether trying again may help (a timeout, a 5xx, a
// refused connection) or not (a 4xx: the request itself is wrong). Errors
// must never carry the receiver's secrets.
type Receiver interface {
	Name() string
	// Kind names the receiver type ("webhook", "alertmanager", …).
	Kind() string
	Notify(ctx context.Context, ns []Notification) (retry bool, err error)
}

// Batcher is implemented by receivers that take at most MaxBatch
// notifications per Notify; others get one at a time.
type Batcher interface {
	MaxBatch() int
}
