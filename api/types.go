package api

import (
	"context"
	"net/url"
	"time"

	"crmwatch/alerts"
	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/store"
)

// Alert is one alert in a list: what the NOC scans.
type Alert struct {
	ID          string          `json:"id"`
	Rule        string          `json:"rule"`
	Severity    alerts.Severity `json:"severity"`
	State       alerts.State    `json:"state"`
	RepeatCount int             `json:"repeat_count"`
	// EventCount counts the events behind the alert: equal to RepeatCount
	// for event and correlation rules, 0 for counter and availability rules.
	EventCount    int       `json:"event_count"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Hosts         []string  `json:"hosts"`
	Organizations []string  `json:"organizations"`
	// OrganizationNames are the display names of Organizations where known
	// ("" where not), in the same order.
	OrganizationNames []string `json:"organization_names,omitempty"`
	Summary           string   `json:"summary"`
	ParentID          string   `json:"parent_id,omitempty"`
	// Children counts the alerts grouped under this one (lists only).
	Children     int    `json:"children,omitempty"`
	Assignee     string `json:"assignee,omitempty"`
	SuppressedBy string `json:"suppressed_by,omitempty"`
	Version      int64  `json:"version"`
}

// AlertsResponse is the body of GET /api/v1/alerts: one page and the total
// matching.
type AlertsResponse struct {
	Alerts []Alert `json:"alerts"`
	Total  int     `json:"total"`
}

// AlertDetail is the body of GET /api/v1/alerts/{id}: the alert plus what it
// means, what happened to it and the events behind it.
type AlertDetail struct {
	Alert      Alert                 `json:"alert"`
	Key        string                `json:"key,omitempty"`
	ResolvedAt *time.Time            `json:"resolved_at,omitempty"`
	Fields     map[string]string     `json:"fields,omitempty"`
	Knowledge  alerts.Knowledge      `json:"knowledge"`
	History    []alerts.HistoryEntry `json:"history"`
	// Events are the first and the latest ones; Alert.EventCount counts all.
	Events []event.Event `json:"events"`
	// Children are the alerts grouped under this one.
	Children []Alert `json:"children,omitempty"`
	// Notifications are what receivers were sent about the alert, in
	// change order (from the notification log).
	Notifications []store.Delivery `json:"notifications"`
}

// ReceiverInfo is one notification receiver (GET /api/v1/notify/receivers).
type ReceiverInfo struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Failures is how many sends in a row the receiver refused (0: its
	// last one got through), since FailingSince, the last with LastError;
	// Failing says the streak raised the alert about the receiver
	// (crmwatch.notify.receiver-failing).
	Failures     int64      `json:"failures"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	Failing      bool       `json:"failing"`
}

// NotifyTestResult answers POST /api/v1/notify/test/{receiver}: 200 when
// the receiver accepted the test notification, 502 with Error when not.
type NotifyTestResult struct {
	Receiver string `json:"receiver"`
	Kind     string `json:"kind"`
	Result   string `json:"result"`
	Took     string `json:"took"`
	Error    string `json:"error,omitempty"`
}

// AgentInfo is one agent as its last heartbeat described it.
type AgentInfo struct {
	Host string `json:"host"`
	// Status is AgentUp, AgentSilent (no heartbeat for three intervals) or
	// AgentStopped (it shut down cleanly).
	Status string `json:"status"`
	// Roles are never null: [] for an agent without roles, which Warnings
	// then names.
	Roles []string `json:"roles"`
	// RoleFindings say how each role was found (configured, a Windows
	// service, a trace file's ServerRole header, …).
	RoleFindings []RoleFinding `json:"role_findings,omitempty"`
	// DiscoveryNotes are what role discovery could not read or use.
	DiscoveryNotes []string `json:"discovery_notes,omitempty"`
	// Packs are the packs whose collection plan the agent applies.
	Packs         []string  `json:"packs,omitempty"`
	Version       string    `json:"version"`
	Collectors    []string  `json:"collectors"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Warnings are what an operator must fix for the agent to be useful.
	Warnings []string `json:"warnings"`
	// Sources are the state of what its collectors read (trace folders).
	Sources []collectors.SourceStatus `json:"sources"`
}

// Agent statuses.
const (
	AgentUp      = "up"
	AgentSilent  = "silent"
	AgentStopped = "stopped"
)

// RoleFinding is one role of an agent and how it was found.
type RoleFinding struct {
	Role string `json:"role"`
	How  string `json:"how"`
}

// AgentsResponse is the body of GET /api/v1/agents.
type AgentsResponse struct {
	Agents []AgentInfo `json:"agents"`
}

// AgentLister lists the known agents; the server wires it from the NATS KV
// heartbeat bucket.
type AgentLister interface {
	Agents(ctx context.Context) ([]AgentInfo, error)
}

// AgentListerFunc adapts a function to AgentLister.
type AgentListerFunc func(ctx context.Context) ([]AgentInfo, error)

// Agents calls f.
func (f AgentListerFunc) Agents(ctx context.Context) ([]AgentInfo, error) { return f(ctx) }

// OperatorsResponse is the body of GET /api/v1/operators (admin only).
type OperatorsResponse struct {
	Operators []store.Operator `json:"operators"`
}

// AuditResponse is the body of GET /api/v1/audit (admin only).
type AuditResponse struct {
	Entries []store.AuditEntry `json:"entries"`
}

// ErrorResponse is the body of every error.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ToAlert converts the model to its list form.
func ToAlert(a alerts.Alert) Alert {
	return Alert{ID: a.ID, Rule: a.Rule, Severity: a.Severity, State: a.State, RepeatCount: a.RepeatCount,
		EventCount: a.EventCount, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Hosts: nonNil(a.Hosts),
		Organizations: nonNil(a.Organizations), Summary: a.Summary, ParentID: a.ParentID, Assignee: a.Assignee,
		SuppressedBy: a.SuppressedBy, Version: a.Version}
}

func (s *Server) toAlert(a alerts.Alert) Alert {
	out := ToAlert(a)
	named := false
	names := make([]string, len(out.Organizations))
	for i, o := range out.Organizations {
		names[i] = s.opts.OrgNames.Name(o)
		named = named || names[i] != ""
	}
	if named {
		out.OrganizationNames = names
	}
	return out
}

func (s *Server) toDetail(d store.AlertDetail) AlertDetail {
	out := AlertDetail{Alert: s.toAlert(d.Alert), Key: d.Alert.Key, ResolvedAt: d.Alert.ResolvedAt,
		Fields: d.Alert.Fields, Knowledge: d.Alert.Knowledge, History: d.History, Events: d.Events}
	if out.History == nil {
		out.History = []alerts.HistoryEntry{}
	}
	if out.Events == nil {
		out.Events = []event.Event{}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// OrgNamer names organizations for display; the GUID stays the key.
type OrgNamer interface {
	Name(org string) string
}

type noNames struct{}

func (noNames) Name(string) string { return "" }

func (f BulkFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"state": f.State, "severity": f.Severity, "rule": f.Rule, "host": f.Host, "organization": f.Organization} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}
