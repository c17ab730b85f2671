package tracectl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"crmwatch/tracing/settings"
)

// Errors of Set and Clear, for the HTTP status (errors.Is).
var (
	// ErrInvalid: the request is refused; the message lists every problem.
	ErrInvalid = errors.New("invalid trace setting")
	// ErrNotAllowed: the operator's role may not do this.
	ErrNotAllowed = errors.New("not allowed")
	// ErrNoSetting: clear found nothing at the target.
	ErrNoSetting = errors.New("no trace setting")
	// ErrUnavailable: the bucket or the audit log could not be written;
	// nothing changed.
	ErrUnavailable = errors.New("trace settings unavailable")
)

// Operator is who asks, as the API authenticated them.
type Operator struct {
	Name string
	// MayNoExpiry: the operator's role may set settings without expiry.
	MayNoExpiry bool
}

// Set stores a setting for req.Target, resolves the agents it reaches and
// audits it. The response names the agents that must acknowledge it and
// the covered ones a more specific setting keeps as they are.
func (m *Manager) Set(ctx context.Context, op Operator, req settings.Request) (settings.ChangeResponse, error) {
	if err := m.waitReady(ctx); err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if req.NoExpiry && !op.MayNoExpiry {
		return settings.ChangeResponse{}, fmt.Errorf("%w: a setting without expiry needs the admin role; give --for (at most %s) instead", ErrNotAllowed, settings.MaxFor)
	}
	now := m.o.Now()
	s, warnings, err := req.Build(newID(), op.Name, now)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	target, warn, terr := m.checkTarget(req.Target)
	if terr != nil {
		errs = append(errs, terr)
	}
	if err := errors.Join(errs...); err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s.Target = target
	if warn != "" {
		warnings = append(warnings, warn)
	}
	key := TargetKey(target)
	m.mu.Lock()
	prev, hadPrev := m.settings[key]
	m.mu.Unlock()
	rev, err := m.bucket.PutSetting(ctx, s)
	if err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	m.settings[key] = storedSetting{Setting: s, rev: rev}
	m.mu.Unlock()
	resp := settings.ChangeResponse{Setting: s, Warnings: warnings}
	resp.Agents, resp.Unchanged = m.expectations(target, s.ID)
	var old *settings.Setting
	if hadPrev {
		old = &prev.Setting
	}
	if err := m.audit(ctx, op.Name, ActionSet, target.String(), AuditDetail{SettingID: s.ID, Old: old, New: &s, Reason: s.Reason, Agents: hosts(resp.Agents)}); err != nil {
		m.rollback(ctx, key, target, old)
		return settings.ChangeResponse{}, fmt.Errorf("%w: the setting was not made because the audit log cannot be written: %w", ErrUnavailable, err)
	}
	if err := m.recompute(ctx); err != nil {
		m.log.Warn("desired trace settings not all written yet; retried with the next change", "err", err)
	}
	m.log.Info("trace setting made", "by", op.Name, "target", target.String(), "setting", s.Describe(), "id", s.ID, "agents", len(resp.Agents))
	return resp, nil
}

// Clear removes the setting at target; the agents it reached fall back to
// the next setting that covers them, or restore what they found.
func (m *Manager) Clear(ctx context.Context, op Operator, req settings.ClearRequest) (settings.ChangeResponse, error) {
	if err := m.waitReady(ctx); err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := req.Target.Validate(); err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	key := TargetKey(req.Target)
	m.mu.Lock()
	prev, ok := m.settings[key]
	m.mu.Unlock()
	if !ok {
		return settings.ChangeResponse{}, fmt.Errorf("%w for %s: nothing to clear (`crmwatch trace status` lists the settings)", ErrNoSetting, req.Target)
	}
	if err := m.bucket.DeleteSetting(ctx, prev.Target, 0); err != nil {
		return settings.ChangeResponse{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	delete(m.settings, key)
	m.mu.Unlock()
	resp := settings.ChangeResponse{Setting: prev.Setting}
	resp.Agents, _ = m.expectations(prev.Target, "")
	reason := strings.TrimSpace(req.Reason)
	if err := m.audit(ctx, op.Name, ActionClear, prev.Target.String(), AuditDetail{SettingID: prev.ID, SetBy: prev.SetBy, Old: &prev.Setting, Reason: reason, Agents: hosts(resp.Agents)}); err != nil {
		m.rollback(ctx, key, prev.Target, &prev.Setting)
		return settings.ChangeResponse{}, fmt.Errorf("%w: the setting was not cleared because the audit log cannot be written: %w", ErrUnavailable, err)
	}
	if err := m.recompute(ctx); err != nil {
		m.log.Warn("desired trace settings not all written yet; retried with the next change", "err", err)
	}
	m.log.Info("trace setting cleared", "by", op.Name, "target", prev.Target.String(), "id", prev.ID, "agents", len(resp.Agents))
	return resp, nil
}

// expectations lists, for every known agent target covers, the setting it
// must acknowledge now. With id set (a new setting), agents that resolve
// to another setting are returned apart as unchanged.
func (m *Manager) expectations(target settings.Target, id string) (agents, unchanged []settings.Expectation) {
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.settingsLocked()
	groups := m.o.Groups()
	for _, r := range m.agents {
		mem := member(r, groups)
		if !target.Covers(mem) {
			continue
		}
		eff := settings.Resolve(all, mem, now)
		e := settings.Expectation{Host: r.Name, SettingID: settingID(eff)}
		if id != "" && e.SettingID != id {
			e.Note = fmt.Sprintf("keeps %s", describeSetting(eff))
			if eff != nil {
				e.Note = fmt.Sprintf("keeps the %s setting %s (%s beats %s)", eff.Target, eff.ID, eff.Target.Scope, target.Scope)
			}
			unchanged = append(unchanged, e)
			continue
		}
		agents = append(agents, e)
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].Host < agents[j].Host })
	sort.Slice(unchanged, func(i, j int) bool { return unchanged[i].Host < unchanged[j].Host })
	return agents, unchanged
}

// checkTarget canonicalises a role or group name and checks it exists; a
// host no agent registered yet is accepted with a warning (the setting
// waits for it).
func (m *Manager) checkTarget(t settings.Target) (settings.Target, string, error) {
	switch t.Scope {
	case settings.ScopeRole:
		if m.o.CheckRole != nil {
			canon, err := m.o.CheckRole(t.Name)
			if err != nil {
				return t, "", fmt.Errorf("--role: %w", err)
			}
			t.Name = canon
		}
	case settings.ScopeGroup:
		groups := m.o.Groups()
		var names []string
		for g := range groups {
			if strings.EqualFold(g, t.Name) {
				return settings.Target{Scope: settings.ScopeGroup, Name: g}, "", nil
			}
			names = append(names, g)
		}
		sort.Strings(names)
		defined := "none are defined; start the server with --overrides FILE whose groups: section defines them"
		if len(names) > 0 {
			defined = "defined: " + strings.Join(names, ", ")
		}
		return t, "", fmt.Errorf("--group %q: no such server group in the overrides files (%s)", t.Name, defined)
	case settings.ScopeHost:
		m.mu.Lock()
		defer m.mu.Unlock()
		for name := range m.agents {
			if strings.EqualFold(name, t.Name) {
				return settings.Target{Scope: settings.ScopeHost, Name: name}, "", nil
			}
		}
		return t, fmt.Sprintf("no agent named %q has registered; the setting waits for it (`crmwatch trace status` lists the agents)", t.Name), nil
	}
	return t, "", nil
}

// rollback puts back what was at key before a change whose audit failed.
func (m *Manager) rollback(ctx context.Context, key string, t settings.Target, old *settings.Setting) {
	var err error
	if old != nil {
		var rev uint64
		if rev, err = m.bucket.PutSetting(ctx, *old); err == nil {
			m.mu.Lock()
			m.settings[key] = storedSetting{Setting: *old, rev: rev}
			m.mu.Unlock()
		}
	} else if err = m.bucket.DeleteSetting(ctx, t, 0); err == nil {
		m.mu.Lock()
		delete(m.settings, key)
		m.mu.Unlock()
	}
	if err != nil {
		m.log.Error("unaudited trace setting could not be rolled back; fix it by hand", "target", t.String(), "err", err)
	}
	m.kickRecompute()
}

func hosts(es []settings.Expectation) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Host
	}
	return out
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
