package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/event"
	"crmwatch/store"
	"crmwatch/transport"
)

// NATS authentication modes (--nats-auth).
const (
	NATSAuthNone  = "none"
	NATSAuthCreds = "creds"
)

// enforcing reports whether the embedded NATS checks agent credentials.
func (o Options) enforcing() bool { return o.NATSAuth == NATSAuthCreds && o.embedded() }

// natsUsers are the users the embedded NATS admits: this server and every
// agent enrolled and not revoked.
func (s *Server) natsUsers(ctx context.Context, st store.AgentCredentials) (transport.Users, error) {
	list, err := st.AgentCredentials(ctx)
	if err != nil {
		return transport.Users{}, err
	}
	u := transport.Users{Server: s.serverKey.Public()}
	for _, c := range list {
		if c.RevokedAt == nil {
			u.Agents = append(u.Agents, transport.Enrolled{Name: c.Name, PublicKey: c.PublicKey})
		}
	}
	return u, nil
}

// refreshUsers hands the embedded NATS the current users; an agent no
// longer among them is disconnected at once.
func (s *Server) refreshUsers(ctx context.Context, st store.AgentCredentials) error {
	if !s.o.enforcing() || s.nats == nil {
		return nil
	}
	u, err := s.natsUsers(ctx, st)
	if err != nil {
		return err
	}
	return s.nats.SetUsers(u)
}

func (s *Server) enrollRoutes(st store.Store) []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: api.EnrollPath, Permission: access.PermAdmin, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req api.EnrollRequest
			if !decodeBody(w, r, &req) {
				return
			}
			op, _ := access.OperatorFrom(r.Context())
			resp, err := s.enroll(r.Context(), st, op.Name, req)
			replyEnroll(w, http.StatusCreated, resp, err)
		})},
		{Method: "POST", Pattern: api.RevokePath, Permission: access.PermAdmin, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			op, _ := access.OperatorFrom(r.Context())
			err := s.revoke(r.Context(), st, op.Name, r.PathValue("name"))
			replyEnroll(w, http.StatusOK, map[string]string{"revoked": r.PathValue("name")}, err)
		})},
		{Method: "GET", Pattern: api.EnrolledPath, Permission: access.PermRead, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			list, err := st.AgentCredentials(r.Context())
			replyEnroll(w, http.StatusOK, api.EnrolledResponse{Agents: list, Enforced: s.o.enforcing()}, err)
		})},
	}
}

var errInvalid = errors.New("invalid")

func (s *Server) enroll(ctx context.Context, st store.Store, by string, req api.EnrollRequest) (api.EnrollResponse, error) {
	var errs []error
	if req.Name == "" {
		errs = append(errs, errors.New("name: give the agent's host name (what it reports as --name)"))
	}
	for _, r := range req.Roles {
		if _, err := event.ParseRole(r); err != nil {
			errs = append(errs, fmt.Errorf("roles: %w", err))
		}
	}
	if err := transport.CheckPublicKey(req.PublicKey); err != nil {
		errs = append(errs, fmt.Errorf("public_key: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return api.EnrollResponse{}, fmt.Errorf("%w: %w", errInvalid, err)
	}
	c := store.AgentCredential{Name: req.Name, Token: transport.SubjectToken(req.Name), PublicKey: req.PublicKey, Roles: req.Roles,
		EnrolledAt: time.Now().UTC(), EnrolledBy: by}
	if err := st.EnrollAgent(ctx, c); err != nil {
		return api.EnrollResponse{}, err
	}
	s.audit(ctx, st, store.AuditEntry{Actor: by, Action: "agent.enroll", Target: req.Name, Detail: "NATS key " + req.PublicKey})
	if err := s.refreshUsers(ctx, st); err != nil {
		return api.EnrollResponse{}, fmt.Errorf("agent %s enrolled, but the embedded NATS did not take it: %w", req.Name, err)
	}
	resp := api.EnrollResponse{Agent: c, Enforced: s.o.enforcing()}
	if u := s.NATSURL(); !u.HasCredentials() && s.o.embedded() {
		resp.NATS = u.Reveal()
	}
	if s.caFile != "" {
		if pem, err := os.ReadFile(s.caFile); err == nil {
			resp.CA = string(pem)
		}
	}
	s.log.Info("agent enrolled", "agent", req.Name, "by", by, "nats_key", req.PublicKey)
	return resp, nil
}

func (s *Server) revoke(ctx context.Context, st store.Store, by, name string) error {
	if err := st.RevokeAgent(ctx, transport.SubjectToken(name), time.Now().UTC()); err != nil {
		return err
	}
	s.audit(ctx, st, store.AuditEntry{Actor: by, Action: "agent.revoke", Target: name})
	if err := s.refreshUsers(ctx, st); err != nil {
		return fmt.Errorf("agent %s revoked in the store, but the embedded NATS did not drop it: %w (restart the server to be sure)", name, err)
	}
	s.log.Info("agent revoked; its connection is closed", "agent", name, "by", by)
	return nil
}

func (s *Server) audit(ctx context.Context, st store.Auditor, e store.AuditEntry) {
	e.At = time.Now().UTC()
	if err := st.Audit(ctx, e); err != nil {
		s.log.Error("audit entry not written", "action", e.Action, "target", e.Target, "err", err)
	}
}

func replyEnroll(w http.ResponseWriter, code int, v any, err error) {
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v) // the client went away
	case errors.Is(err, errInvalid):
		access.WriteError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, store.ErrExists):
		access.WriteError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNotFound):
		access.WriteError(w, http.StatusNotFound, err.Error())
	default:
		access.WriteError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// decodeBody reads one JSON object strictly (unknown fields refused).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		access.WriteError(w, http.StatusBadRequest, fmt.Sprintf("request body: %v (send one JSON object)", err))
		return false
	}
	return true
}
