package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/collectors"
	"crmwatch/store"
)

// Limits of GET /api/v1/alerts.
const (
	DefaultAlertLimit = 500
	MaxAlertLimit     = 5000
)

// Audit actions for operator changes to alerts.
const (
	ActionAlertAcknowledge = "alert.acknowledge"
	ActionAlertResolve     = "alert.resolve"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	access.WriteError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s: the API lives under /api/v1 (alerts, agents, operators, audit)", r.Method, r.URL.Path))
}

// ParseAlertFilter reads the query of GET /api/v1/alerts: state (comma list
// of new, acknowledged, resolved, or "open"), severity (minimum), host, rule,
// limit. Unknown parameters are errors, so a typo never silently widens the
// result.
func ParseAlertFilter(q url.Values) (store.AlertFilter, error) {
	f := store.AlertFilter{Limit: DefaultAlertLimit}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		v := strings.TrimSpace(vs[len(vs)-1])
		switch name {
		case "state":
			states, err := parseStates(v)
			if err != nil {
				errs = append(errs, err)
			}
			f.States = states
		case "severity":
			sev, err := alerts.ParseSeverity(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("parameter severity: %w", err))
			}
			f.Severity = sev
		case "host":
			f.Host = v
		case "rule":
			f.Rule = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxAlertLimit {
				errs = append(errs, fmt.Errorf("parameter limit: %q is not a number from 1 to %d", v, MaxAlertLimit))
			}
			f.Limit = n
		default:
			errs = append(errs, fmt.Errorf("unknown parameter %q (want state, severity, host, rule or limit)", name))
		}
	}
	return f, errors.Join(errs...)
}

func parseStates(v string) ([]alerts.State, error) {
	var out []alerts.State
	for part := range strings.SplitSeq(v, ",") {
		switch st := alerts.State(strings.ToLower(strings.TrimSpace(part))); st {
		case alerts.StateNew, alerts.StateAcknowledged, alerts.StateResolved:
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		case "open":
			for _, o := range []alerts.State{alerts.StateNew, alerts.StateAcknowledged} {
				if !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		default:
			return nil, fmt.Errorf("parameter state: %q is not new, acknowledged, resolved or open", part)
		}
	}
	return out, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := ParseAlertFilter(r.URL.Query())
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := s.opts.Store.Alerts(r.Context(), f)
	if err != nil {
		s.serverError(w, r, "reading alerts", err)
		return
	}
	out := AlertsResponse{Alerts: make([]Alert, 0, len(list))}
	for _, a := range list {
		out.Alerts = append(out.Alerts, ToAlert(a))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	d, ok := s.loadAlert(w, r)
	if ok {
		writeJSON(w, http.StatusOK, ToAlertDetail(d))
	}
}

func (s *Server) loadAlert(w http.ResponseWriter, r *http.Request) (store.AlertDetail, bool) {
	id := r.PathValue("id")
	d, err := s.opts.Store.Alert(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("alert %q not found: list alerts with GET /api/v1/alerts (`crmwatch alerts list`)", id))
		return d, false
	case err != nil:
		s.serverError(w, r, fmt.Sprintf("reading alert %q", id), err)
		return d, false
	}
	return d, true
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request) {
	s.operatorChange(w, r, alerts.ChangeAcknowledged, ActionAlertAcknowledge)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	s.operatorChange(w, r, alerts.ChangeResolved, ActionAlertResolve)
}

// operatorChange applies an acknowledgement or resolution by the requesting
// operator, audits it and answers with the updated alert.
func (s *Server) operatorChange(w http.ResponseWriter, r *http.Request, kind alerts.ChangeKind, action string) {
	op, _ := access.OperatorFrom(r.Context())
	d, ok := s.loadAlert(w, r)
	if !ok {
		return
	}
	if d.Alert.State == alerts.StateResolved {
		access.WriteError(w, http.StatusConflict, fmt.Sprintf("alert %q is already resolved: nothing to %s", d.Alert.ID, strings.TrimPrefix(action, "alert.")))
		return
	}
	if kind == alerts.ChangeAcknowledged && d.Alert.State == alerts.StateAcknowledged {
		writeJSON(w, http.StatusOK, ToAlertDetail(d)) // already done; no second history row
		return
	}
	now := s.opts.Now().UTC()
	c := alerts.Change{Kind: kind, Alert: d.Alert, At: now, By: op.Name}
	if err := s.opts.Changes.Send(r.Context(), []alerts.Change{c}); err != nil {
		s.serverError(w, r, fmt.Sprintf("recording %s of alert %q", kind, d.Alert.ID), err)
		return
	}
	if err := s.opts.Store.Audit(r.Context(), store.AuditEntry{At: now, Actor: op.Name, Action: action, Target: d.Alert.ID}); err != nil {
		s.serverError(w, r, fmt.Sprintf("auditing %s of alert %q", kind, d.Alert.ID), err)
		return
	}
	s.getAlert(w, r)
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Agents == nil {
		access.WriteError(w, http.StatusServiceUnavailable, "agent registry not available: this server runs without the NATS transport")
		return
	}
	list, err := s.opts.Agents.Agents(r.Context())
	if err != nil {
		s.serverError(w, r, "listing agents", err)
		return
	}
	out := AgentsResponse{Agents: make([]AgentInfo, 0, len(list))}
	for _, a := range list {
		a.Roles, a.Collectors, a.Warnings = nonNil(a.Roles), nonNil(a.Collectors), nonNil(a.Warnings)
		if a.Sources == nil {
			a.Sources = []collectors.SourceStatus{}
		}
		out.Agents = append(out.Agents, a)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := s.opts.Store.Operators(r.Context())
	if err != nil {
		s.serverError(w, r, "listing operators", err)
		return
	}
	writeJSON(w, http.StatusOK, OperatorsResponse{Operators: ops})
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	f, err := ParseAuditFilter(r.URL.Query(), s.opts.Now())
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, err := s.opts.Store.AuditEntries(r.Context(), f)
	if err != nil {
		s.serverError(w, r, "reading the audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, AuditResponse{Entries: entries})
}

// serverError logs the cause (it is the server's problem, not the caller's)
// and answers 500 naming what failed.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "what", what, "err", err)
	access.WriteError(w, http.StatusInternalServerError, what+" failed: "+err.Error()+"; check the server log and the store")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
