package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"crmwatch/access"
	"crmwatch/collectors"
)

// Limits of GET /api/v1/alerts.
const (
	DefaultAlertLimit = 500
	MaxAlertLimit     = 5000
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	access.WriteError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s: the API lives under /api/v1 (alerts, maintenance, silences, agents, operators, audit)", r.Method, r.URL.Path))
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	if _, err := noParams(r); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
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

// auditLog is GET /api/v1/audit?limit=N&since=TIME|DURATION&actor=NAME.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := ParseAuditFilter(q, s.opts.Now())
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, err := s.opts.Store.AuditLog(r.Context(), f)
	if err != nil {
		s.serverError(w, r, "reading the audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, AuditResponse{Entries: entries})
}

// noParams refuses any query on routes that take none.
func noParams(r *http.Request) (struct{}, error) {
	q, err := query(r)
	if err != nil {
		return struct{}{}, err
	}
	for name := range q {
		return struct{}{}, fmt.Errorf("unknown parameter %q: this route takes none", name)
	}
	return struct{}{}, nil
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
