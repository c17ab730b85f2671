package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/store"
)

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err == nil {
		role := strings.TrimSpace(q.Get("role"))
		q.Del("role")
		var f store.AlertFilter
		if f, err = ParseAlertFilter(q); err == nil {
			if role != "" {
				if f.Hosts, err = s.roleHosts(r, role); err != nil {
					access.WriteError(w, http.StatusServiceUnavailable, err.Error())
					return
				}
				if len(f.Hosts) == 0 { // no host has the role: nothing matches
					writeJSON(w, http.StatusOK, AlertsResponse{Alerts: []Alert{}})
					return
				}
			}
			s.writeAlerts(w, r, f)
			return
		}
	}
	access.WriteError(w, http.StatusBadRequest, err.Error())
}

// roleHosts are the hosts whose agents announce role (alerts carry hosts,
// not roles; the agents' registrations say which host has which role).
func (s *Server) roleHosts(r *http.Request, role string) ([]string, error) {
	if s.opts.Agents == nil {
		return nil, errors.New("parameter role: the agent registry is not available on this server (no NATS transport); filter by host instead")
	}
	list, err := s.opts.Agents.Agents(r.Context())
	if err != nil {
		return nil, fmt.Errorf("parameter role: listing agents: %w", err)
	}
	hosts := []string{}
	for _, a := range list {
		for _, ar := range a.Roles {
			if strings.EqualFold(ar, role) {
				hosts = append(hosts, a.Host)
				break
			}
		}
	}
	return hosts, nil
}

func (s *Server) writeAlerts(w http.ResponseWriter, r *http.Request, f store.AlertFilter) {
	page, err := s.opts.Store.Alerts(r.Context(), f)
	if err != nil {
		s.serverError(w, r, "reading alerts", err)
		return
	}
	out := AlertsResponse{Alerts: make([]Alert, 0, len(page.Alerts)), Total: page.Total}
	for _, a := range page.Alerts {
		v := s.toAlert(a)
		v.Children = page.Children[a.ID]
		out.Alerts = append(out.Alerts, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	if _, err := noParams(r); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if d, ok := s.loadAlert(w, r, r.PathValue("id")); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

func (s *Server) loadAlert(w http.ResponseWriter, r *http.Request, id string) (AlertDetail, bool) {
	d, err := s.opts.Store.Alert(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("alert %q not found: list alerts with GET /api/v1/alerts (`crmwatch alerts list`)", id))
		return AlertDetail{}, false
	case err != nil:
		s.serverError(w, r, fmt.Sprintf("reading alert %q", id), err)
		return AlertDetail{}, false
	}
	out := s.toDetail(d)
	if out.Notifications, err = s.opts.Store.Notifications(r.Context(), id); err != nil {
		s.serverError(w, r, fmt.Sprintf("reading the notifications of alert %q", id), err)
		return AlertDetail{}, false
	}
	if children, err := s.opts.Store.Alerts(r.Context(), store.AlertFilter{Parent: id, Limit: MaxAlertLimit}); err == nil {
		for _, c := range children.Alerts {
			out.Children = append(out.Children, s.toAlert(c))
		}
	}
	return out, true
}

// ActionRequest is the body of POST /api/v1/alerts/{id}/acknowledge,
// /resolve, /comment and /assign (all fields optional but the comment of
// /comment).
type ActionRequest struct {
	Comment  string `json:"comment,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	// Version, when set, acts only if the alert is still at this version.
	Version int64 `json:"version,omitempty"`
}

// ConflictResponse is the body of a 409: what was refused and the alert as
// it is now.
type ConflictResponse struct {
	Error string `json:"error"`
	Alert Alert  `json:"alert"`
}

// actOne performs one operator action on the alert in the path.
func (s *Server) actOne(kind alerts.ChangeKind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := noParams(r); err != nil {
			access.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		var req ActionRequest
		if err := decodeBody(w, r, &req); err != nil {
			access.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		id := r.PathValue("id")
		status, msg, cur := s.act(r, id, s.action(r, kind, req))
		switch status {
		case http.StatusOK:
			if d, ok := s.loadAlert(w, r, id); ok {
				writeJSON(w, http.StatusOK, d)
			}
		case http.StatusConflict:
			writeJSON(w, http.StatusConflict, ConflictResponse{Error: msg, Alert: s.toAlert(cur)})
		default:
			access.WriteError(w, status, msg)
		}
	})
}

func (s *Server) action(r *http.Request, kind alerts.ChangeKind, req ActionRequest) alerts.Action {
	op, _ := access.OperatorFrom(r.Context())
	return alerts.Action{Kind: kind, By: op.Name, At: s.opts.Now().UTC(), Note: strings.TrimSpace(req.Comment),
		Assignee: strings.TrimSpace(req.Assignee), IfVersion: req.Version}
}

// act applies x to alert id and publishes the committed change; it returns
// the HTTP status, a message for the caller, and the current alert on a
// conflict.
func (s *Server) act(r *http.Request, id string, x alerts.Action) (int, string, alerts.Alert) {
	c, err := s.opts.Store.Act(r.Context(), id, x)
	var ce *alerts.ConflictError
	switch {
	case err == nil:
		s.opts.Committed(r.Context(), []alerts.Committed{c})
		return http.StatusOK, "", c.Alert
	case errors.As(err, &ce):
		return http.StatusConflict, ce.Error(), ce.Current
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, fmt.Sprintf("alert %q not found", id), alerts.Alert{}
	case x.Validate() != nil:
		return http.StatusBadRequest, err.Error(), alerts.Alert{}
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "alert", id, "err", err)
	return http.StatusInternalServerError, fmt.Sprintf("%s of alert %q failed: %v; check the server log and the store", x.Kind, id, err), alerts.Alert{}
}

// BulkRequest is the body of POST /api/v1/alerts/actions: one action on
// the alerts named by IDs, or on the open alerts matching Filter.
type BulkRequest struct {
	Action   string      `json:"action"` // acknowledge, resolve, comment or assign
	IDs      []string    `json:"ids,omitempty"`
	Filter   *BulkFilter `json:"filter,omitempty"`
	Comment  string      `json:"comment,omitempty"`
	Assignee string      `json:"assignee,omitempty"`
}

// BulkFilter selects open alerts (unless State says otherwise).
type BulkFilter struct {
	State        string `json:"state,omitempty"`
	Severity     string `json:"severity,omitempty"`
	Rule         string `json:"rule,omitempty"`
	Host         string `json:"host,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// BulkResult is the outcome for one alert.
type BulkResult struct {
	ID     string       `json:"id"`
	Status int          `json:"status"` // 200, 404 or 409
	Error  string       `json:"error,omitempty"`
	State  alerts.State `json:"state,omitempty"`
}

// BulkResponse lists every alert's outcome; the answer is 200 even when
// some failed (OK and Failed count them).
type BulkResponse struct {
	Results []BulkResult `json:"results"`
	OK      int          `json:"ok"`
	Failed  int          `json:"failed"`
}

// MaxBulk bounds the alerts one bulk action touches.
const MaxBulk = 1000

var actionKinds = map[string]alerts.ChangeKind{
	"acknowledge": alerts.ChangeAcknowledged, "ack": alerts.ChangeAcknowledged,
	"resolve": alerts.ChangeResolved, "comment": alerts.ChangeCommented, "assign": alerts.ChangeAssigned,
}

func (s *Server) actMany(w http.ResponseWriter, r *http.Request) {
	var req BulkRequest
	if err := decodeBody(w, r, &req); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ids, err := s.bulkTargets(r, req)
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	x := s.action(r, actionKinds[req.Action], ActionRequest{Comment: req.Comment, Assignee: req.Assignee})
	out := BulkResponse{Results: make([]BulkResult, 0, len(ids))}
	for _, id := range ids {
		status, msg, cur := s.act(r, id, x)
		if status == http.StatusInternalServerError {
			access.WriteError(w, status, msg)
			return
		}
		out.Results = append(out.Results, BulkResult{ID: id, Status: status, Error: msg, State: cur.State})
		if status == http.StatusOK {
			out.OK++
		} else {
			out.Failed++
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// bulkTargets resolves the request to alert ids, refusing every mistake.
func (s *Server) bulkTargets(r *http.Request, req BulkRequest) ([]string, error) {
	var errs []error
	if _, ok := actionKinds[req.Action]; !ok {
		errs = append(errs, fmt.Errorf("action %q: want acknowledge, resolve, comment or assign", req.Action))
	}
	if (len(req.IDs) == 0) == (req.Filter == nil) {
		errs = append(errs, errors.New("give either ids or a filter"))
	}
	if len(req.IDs) > MaxBulk {
		errs = append(errs, fmt.Errorf("%d ids; at most %d per request", len(req.IDs), MaxBulk))
	}
	if err := errors.Join(errs...); err != nil || req.Filter == nil {
		return req.IDs, err
	}
	f, err := ParseAlertFilter(req.Filter.values())
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	if *req.Filter == (BulkFilter{}) {
		return nil, errors.New("filter: name at least one of rule, host, organization, severity or state (an empty filter would act on every alert)")
	}
	if len(f.States) == 0 {
		f.States = []alerts.State{alerts.StateNew, alerts.StateAcknowledged}
	}
	f.Limit = MaxBulk
	page, err := s.opts.Store.Alerts(r.Context(), f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(page.Alerts))
	for _, a := range page.Alerts {
		ids = append(ids, a.ID)
	}
	return ids, nil
}
