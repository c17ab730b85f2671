package tracectl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/tracing/settings"
)

// maxBody bounds a request body; a real one is a few hundred bytes.
const maxBody = 64 << 10

// Routes are the manager's API routes, mounted behind the API's
// authentication: changes need trace.write (readonly operators are
// refused), settings without expiry also trace.no-expiry (admin).
func (m *Manager) Routes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: settings.SettingsPath, Permission: access.PermTraceWrite, Handler: http.HandlerFunc(m.handleSet)},
		{Method: "POST", Pattern: settings.ClearPath, Permission: access.PermTraceWrite, Handler: http.HandlerFunc(m.handleClear)},
		{Method: "DELETE", Pattern: settings.SettingsPath, Permission: access.PermTraceWrite, Handler: http.HandlerFunc(m.handleDelete)},
		{Method: "GET", Pattern: settings.StatusPath, Permission: access.PermRead, Handler: http.HandlerFunc(m.handleStatus)},
	}
}

func operator(r *http.Request) Operator {
	op, _ := access.OperatorFrom(r.Context())
	return Operator{Name: op.Name, MayNoExpiry: op.Can(access.PermTraceNoExpiry)}
}

func (m *Manager) handleSet(w http.ResponseWriter, r *http.Request) {
	var req settings.Request
	if !decode(w, r, &req) {
		return
	}
	resp, err := m.Set(r.Context(), operator(r), req)
	reply(w, resp, err)
}

func (m *Manager) handleClear(w http.ResponseWriter, r *http.Request) {
	var req settings.ClearRequest
	if !decode(w, r, &req) {
		return
	}
	resp, err := m.Clear(r.Context(), operator(r), req)
	reply(w, resp, err)
}

func (m *Manager) handleDelete(w http.ResponseWriter, r *http.Request) {
	t, err := settings.ParseTarget(r.URL.Query().Get("target"))
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, "parameter target: "+err.Error())
		return
	}
	resp, err := m.Clear(r.Context(), operator(r), settings.ClearRequest{Target: t, Reason: r.URL.Query().Get("reason")})
	reply(w, resp, err)
}

func (m *Manager) handleStatus(w http.ResponseWriter, r *http.Request) {
	resp, err := m.Status(r.Context())
	if err != nil {
		access.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// decode reads a JSON body strictly; unknown fields are errors, so a typo
// never silently drops an option.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("text after the JSON object")
		}
	}
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, fmt.Sprintf("request body: %v (send one JSON object; see docs/tracing.md)", err))
		return false
	}
	return true
}

func reply(w http.ResponseWriter, resp settings.ChangeResponse, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, resp)
	case errors.Is(err, ErrInvalid):
		access.WriteError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, ErrNotAllowed):
		access.WriteError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, ErrNoSetting):
		access.WriteError(w, http.StatusNotFound, err.Error())
	default:
		access.WriteError(w, http.StatusServiceUnavailable, err.Error()+": retry, and check the server log")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away
}
