package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"crmwatch/access"
	"crmwatch/rules"
	"crmwatch/store"
)

// ReloadPath is the API route that reloads the packs (admin only).
const ReloadPath = "/api/v1/packs/reload"

// ReloadResult is the body of a successful reload.
type ReloadResult struct {
	Rules int `json:"rules"`
	// PlansChanged counts the roles whose collection plan changed and was
	// published to the agents.
	PlansChanged int `json:"plans_changed"`
}

// maxAuditDetail bounds the problems text kept in one audit entry.
const maxAuditDetail = 4000

// Reload re-reads the built-in pack, the --packs directories and the
// --overrides files and swaps the rule set in atomically. On any problem
// the running rules stay in place and the error lists every problem (with
// file and line where the loader knows them). by names who asked (an
// operator, or "SIGHUP") for the audit log. Alert state of rules that
// survive the reload is kept.
func (s *Server) Reload(ctx context.Context, by string) (ReloadResult, error) {
	res, err := s.reload(ctx, by, true)
	if err == nil {
		s.mu.Lock()
		tell := s.tellPeers
		s.mu.Unlock()
		if tell != nil {
			tell(by) // every server evaluates the same rules, whichever one was asked
		}
	}
	return res, err
}

// reload re-reads the packs on this server; audit is false when another
// server was asked (and audited it).
func (s *Server) reload(ctx context.Context, by string, audit bool) (ReloadResult, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.mu.Lock()
	engine, st := s.engine, s.st
	s.mu.Unlock()
	if engine == nil || st == nil {
		return ReloadResult{}, errors.New("server: not running yet; nothing to reload")
	}
	f, err := loadFarm(s.o.PackDirs, s.o.Overrides)
	rs := f.rules
	if err == nil {
		err = engine.Load(rs)
	}
	if err == nil {
		s.setGroups(f.groups)
	}
	if audit {
		s.auditReload(ctx, st, by, len(rs), err)
	}
	if err != nil {
		s.log.Error("pack reload refused; the running rules stay", "by", by, "err", err)
		return ReloadResult{}, fmt.Errorf("pack reload refused, the running rules stay in place: %w", err)
	}
	s.setPlans(f.plans)
	s.setDashboards(f.dashboards)
	changed, err := s.publishPlans(ctx)
	if err != nil {
		s.log.Error("rules reloaded, but the agents did not get the new collection plans", "by", by, "err", err)
		return ReloadResult{Rules: len(rs), PlansChanged: changed}, fmt.Errorf("rules reloaded (%d), but %w; reload again once NATS answers", len(rs), err)
	}
	s.log.Info("rules reloaded", "by", by, "rules", len(rs), "plans_changed", changed)
	return ReloadResult{Rules: len(rs), PlansChanged: changed}, nil
}

func (s *Server) auditReload(ctx context.Context, st store.Auditor, by string, n int, err error) {
	e := store.AuditEntry{At: time.Now(), Actor: by, Action: "packs.reload", Target: "rules", Detail: fmt.Sprintf("%d rules loaded", n)}
	if err != nil {
		e.Action, e.Detail = "packs.reload.refused", err.Error()
		if len(e.Detail) > maxAuditDetail {
			e.Detail = e.Detail[:maxAuditDetail] + " …"
		}
	}
	if aerr := st.Audit(ctx, e); aerr != nil {
		s.log.Warn("could not write the reload to the audit log", "err", aerr)
	}
}

// setEngine publishes the running engine for Reload (nil when stopped).
func (s *Server) setEngine(e *rules.Engine) {
	s.mu.Lock()
	s.engine = e
	s.mu.Unlock()
}

// reloadRoute is POST /api/v1/packs/reload: 200 {"rules":N}, or 422 with
// every problem when the new packs are refused.
func (s *Server) reloadRoute() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := access.OperatorFrom(r.Context())
		res, err := s.Reload(r.Context(), op.Name)
		if err != nil {
			access.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res) //nolint:errcheck // the client went away
	})
}
