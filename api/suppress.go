package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"crmwatch/access"
	"crmwatch/alerts/suppress"
	"crmwatch/store"
)

// WindowsResponse is the body of GET /api/v1/maintenance.
type WindowsResponse struct {
	Windows []WindowInfo `json:"windows"`
}

// WindowInfo is a window and whether it is open now.
type WindowInfo struct {
	suppress.Window
	Active bool `json:"active"`
}

// SilencesResponse is the body of GET /api/v1/silences.
type SilencesResponse struct {
	Silences []SilenceInfo `json:"silences"`
}

// SilenceInfo is a silence and whether it mutes now.
type SilenceInfo struct {
	suppress.Silence
	Active bool `json:"active"`
}

// SilenceRequest is the body of POST /api/v1/silences: matchers as
// written (host=CRMAPP01, rule=~crm\.trace\..*), a duration or an end.
type SilenceRequest struct {
	Matchers []string  `json:"matchers"`
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Duration string    `json:"duration,omitempty"`
	Comment  string    `json:"comment"`
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) {
	if _, err := noParams(r); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ws, err := s.opts.Store.Windows(r.Context())
	if err != nil {
		s.serverError(w, r, "reading maintenance windows", err)
		return
	}
	now := s.opts.Now()
	out := WindowsResponse{Windows: make([]WindowInfo, 0, len(ws))}
	for _, x := range ws {
		out.Windows = append(out.Windows, WindowInfo{Window: x, Active: x.Active(now)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addWindow(w http.ResponseWriter, r *http.Request) {
	var win suppress.Window
	if err := decodeBody(w, r, &win); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	op, _ := access.OperatorFrom(r.Context())
	now := s.opts.Now().UTC()
	win.ID, win.CreatedBy, win.CreatedAt = newID(), op.Name, now
	err := win.Validate()
	if err == nil && win.Weekly == nil && !win.End.After(now) {
		err = fmt.Errorf("the window ended already (%s)", win.End.Format(time.RFC3339))
	}
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, "maintenance window: "+err.Error())
		return
	}
	if err := s.opts.Store.AddWindow(r.Context(), win); err != nil {
		s.serverError(w, r, "adding a maintenance window", err)
		return
	}
	s.audit(r, "maintenance.add", win.ID, describeWindow(win))
	s.opts.SuppressionsChanged()
	writeJSON(w, http.StatusCreated, WindowInfo{Window: win, Active: win.Active(now)})
}

func describeWindow(w suppress.Window) string {
	var parts []string
	for _, p := range []struct {
		k string
		v []string
	}{{"hosts", w.Hosts}, {"roles", w.Roles}, {"groups", w.Groups}} {
		if len(p.v) > 0 {
			parts = append(parts, p.k+"="+strings.Join(p.v, ","))
		}
	}
	if w.Weekly != nil {
		b, _ := w.Weekly.Days.MarshalJSON()
		parts = append(parts, fmt.Sprintf("weekly %s at %s for %s (%s)", b, w.Weekly.At, time.Duration(w.Weekly.Duration), w.Weekly.TZ))
	} else {
		parts = append(parts, w.Start.Format(time.RFC3339)+" to "+w.End.Format(time.RFC3339))
	}
	if w.Comment != "" {
		parts = append(parts, "comment: "+w.Comment)
	}
	return strings.Join(parts, "; ")
}

func (s *Server) removeWindow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.opts.Store.RemoveWindow(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("maintenance window %q not found: see `crmwatch maintenance list`", id))
		return
	case err != nil:
		s.serverError(w, r, "removing a maintenance window", err)
		return
	}
	s.audit(r, "maintenance.remove", id, "")
	s.opts.SuppressionsChanged()
	writeJSON(w, http.StatusOK, map[string]string{"removed": id})
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) {
	if _, err := noParams(r); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ss, err := s.opts.Store.Silences(r.Context())
	if err != nil {
		s.serverError(w, r, "reading silences", err)
		return
	}
	now := s.opts.Now()
	out := SilencesResponse{Silences: make([]SilenceInfo, 0, len(ss))}
	for _, x := range ss {
		out.Silences = append(out.Silences, SilenceInfo{Silence: x, Active: x.Active(now)})
	}
	writeJSON(w, http.StatusOK, out)
}

// MaxSilence bounds how long one silence lasts: longer muting is a
// maintenance window or a rule change.
const MaxSilence = 7 * 24 * time.Hour

func (s *Server) addSilence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	if err := decodeBody(w, r, &req); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	op, _ := access.OperatorFrom(r.Context())
	now := s.opts.Now().UTC()
	x, err := req.silence(now)
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	x.ID, x.CreatedBy, x.CreatedAt = newID(), op.Name, now
	if err := s.opts.Store.AddSilence(r.Context(), x); err != nil {
		s.serverError(w, r, "adding a silence", err)
		return
	}
	ms := make([]string, len(x.Matchers))
	for i, m := range x.Matchers {
		ms[i] = m.String()
	}
	s.audit(r, "silence.add", x.ID, fmt.Sprintf("%s until %s; comment: %s", strings.Join(ms, " "), x.End.Format(time.RFC3339), x.Comment))
	s.opts.SuppressionsChanged()
	writeJSON(w, http.StatusCreated, SilenceInfo{Silence: x, Active: x.Active(now)})
}

func (req SilenceRequest) silence(now time.Time) (suppress.Silence, error) {
	x := suppress.Silence{Start: req.Start, End: req.End, Comment: strings.TrimSpace(req.Comment)}
	var errs []error
	for _, m := range req.Matchers {
		pm, err := suppress.ParseMatcher(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		x.Matchers = append(x.Matchers, pm)
	}
	if x.Start.IsZero() {
		x.Start = now
	}
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("duration %q: write e.g. 2h", req.Duration))
		} else if !x.End.IsZero() {
			errs = append(errs, errors.New("give a duration or an end, not both"))
		} else {
			x.End = x.Start.Add(d)
		}
	}
	if x.End.Sub(x.Start) > MaxSilence {
		errs = append(errs, fmt.Errorf("lasts %s; at most %s (use a maintenance window for longer)", x.End.Sub(x.Start), MaxSilence))
	}
	if err := errors.Join(errs...); err != nil {
		return x, err
	}
	return x, x.Validate()
}

func (s *Server) expireSilence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.opts.Store.ExpireSilence(r.Context(), id, s.opts.Now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("silence %q not found: see `crmwatch silence list`", id))
		return
	case err != nil:
		s.serverError(w, r, "expiring a silence", err)
		return
	}
	s.audit(r, "silence.expire", id, "")
	s.opts.SuppressionsChanged()
	writeJSON(w, http.StatusOK, map[string]string{"expired": id})
}

// audit records an operator's change; a failure is logged, the change
// already happened.
func (s *Server) audit(r *http.Request, action, target, detail string) {
	op, _ := access.OperatorFrom(r.Context())
	if err := s.opts.Store.Audit(r.Context(), store.AuditEntry{At: s.opts.Now().UTC(), Actor: op.Name, Action: action, Target: target, Detail: detail}); err != nil {
		s.log.Error("could not write the audit log", "action", action, "target", target, "err", err)
	}
}
