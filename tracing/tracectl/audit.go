package tracectl

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"crmwatch/store"
	"crmwatch/tracing/settings"
)

// Audit actions of trace control.
const (
	ActionSet     = "trace.set"     // an operator made a setting
	ActionClear   = "trace.clear"   // an operator removed one
	ActionExpire  = "trace.expire"  // the server removed a setting whose expiry passed
	ActionExpired = "trace.expired" // an agent restored what it found at expiry
	ActionGuard   = "trace.guard"   // an agent's disk guard reverted or refused a setting
)

// ServerActor is the audit actor of what the server does by itself.
const ServerActor = "crmwatch-server"

// AuditDetail is the JSON in an audit entry's Detail: which setting, who
// made it, the values before and after, and why.
type AuditDetail struct {
	SettingID string `json:"setting_id,omitempty"`
	// SetBy is the operator who made the setting (for expiry and guard
	// entries, whose actor is the server or the agent).
	SetBy string `json:"set_by,omitempty"`
	// Source is the target the setting came from (agent entries).
	Source string `json:"source,omitempty"`
	// Old and New are settings (set, clear, expire) or trace values
	// (agent entries).
	Old any `json:"old"`
	New any `json:"new"`
	// Reason is the operator's reason or ticket.
	Reason string `json:"reason,omitempty"`
	// Why is the agent's or server's own explanation (guard, expiry).
	Why string `json:"why,omitempty"`
	// Agents are the agents a set or clear reaches.
	Agents []string `json:"agents,omitempty"`
}

func (m *Manager) audit(ctx context.Context, actor, action, target string, d AuditDetail) error {
	return m.auditAt(ctx, m.o.Now().UTC(), actor, action, target, d)
}

func (m *Manager) auditAt(ctx context.Context, at time.Time, actor, action, target string, d AuditDetail) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return m.o.Audit.Audit(ctx, store.AuditEntry{At: at, Actor: actor, Action: action, Target: target, Detail: string(data)})
}

// onApplied keeps the acknowledgements and audits what agents did by
// themselves — expiry and guard trips, carried in every acknowledgement's
// Events — once each, even with several servers and across server
// restarts: the time of the last audited event per agent is claimed in the
// bucket before the entries are written.
func (m *Manager) onApplied(ctx context.Context, e Entry) {
	if e.Deleted || e.Applied == nil {
		return
	}
	a := *e.Applied
	m.mu.Lock()
	m.applied[a.Host] = a
	m.mu.Unlock()
	if len(a.Events) == 0 {
		return
	}
	fresh, err := m.bucket.claimEvents(ctx, a.Host, a.Events)
	if err != nil {
		m.log.Warn("could not claim an agent's trace events for the audit log; they are audited when seen again", "agent", a.Host, "err", err)
		return
	}
	for _, ev := range fresh {
		action := ActionExpired
		if ev.State == settings.StateGuard {
			action = ActionGuard
		}
		d := AuditDetail{Old: ev.Old, New: ev.New, Why: ev.Reason}
		if s := ev.Setting; s != nil {
			d.SettingID, d.SetBy, d.Source, d.Reason = s.ID, s.SetBy, s.Target.String(), s.Reason
		}
		if err := m.auditAt(ctx, ev.At, "agent:"+a.Host, action, "host "+a.Host, d); err != nil {
			m.log.Error("agent trace event not audited", "agent", a.Host, "action", action, "err", err)
		}
	}
}

// expireLoop removes settings whose expiry passed (the agents already
// restored what they found by themselves) and audits each removal once.
func (m *Manager) expireLoop(ctx context.Context) error {
	t := time.NewTicker(m.o.ExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.expire(ctx)
		}
	}
}

func (m *Manager) expire(ctx context.Context) {
	now := m.o.Now()
	m.mu.Lock()
	var due []storedSetting
	for _, s := range m.settings {
		if s.Expired(now) {
			due = append(due, s)
		}
	}
	m.mu.Unlock()
	for _, s := range due {
		if err := m.bucket.DeleteSetting(ctx, s.Target, s.rev); err != nil {
			continue // another server removed it first, or NATS is away: next tick
		}
		m.mu.Lock()
		if cur, ok := m.settings[TargetKey(s.Target)]; ok && cur.ID == s.ID {
			delete(m.settings, TargetKey(s.Target))
		}
		m.mu.Unlock()
		why := fmt.Sprintf("expired at %s", s.Expires.UTC().Format(time.RFC3339))
		if err := m.audit(ctx, ServerActor, ActionExpire, s.Target.String(), AuditDetail{SettingID: s.ID, SetBy: s.SetBy, Old: &s.Setting, Reason: s.Reason, Why: why}); err != nil {
			m.log.Error("trace setting expiry not audited", "target", s.Target.String(), "err", err)
		}
		m.log.Info("trace setting expired", "target", s.Target.String(), "id", s.ID, "set_by", s.SetBy)
		m.kickRecompute()
	}
}
