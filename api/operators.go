package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"crmwatch/access"
	"crmwatch/store"
)

// Paths of operator management (admin only), the API's side of
// `crmwatch operators add|revoke|rotate`.
const (
	OperatorsPath      = "/api/v1/operators"
	OperatorRevokePath = "/api/v1/operators/{name}/revoke"
	OperatorRotatePath = "/api/v1/operators/{name}/rotate"
)

// OperatorRequest is the body of POST /api/v1/operators.
type OperatorRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// OperatorTokenResponse answers adding an operator or rotating their
// token: the token in clear, shown this once (only its hash is kept).
type OperatorTokenResponse struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Token string `json:"token"`
	// Fingerprint names the token in the audit log.
	Fingerprint string `json:"fingerprint"`
}

// OperatorRevokeResponse answers POST /api/v1/operators/{name}/revoke.
type OperatorRevokeResponse struct {
	Name    string `json:"name"`
	Revoked bool   `json:"revoked"`
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) {
	if _, err := noParams(r); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ops, err := s.opts.Store.Operators(r.Context())
	if err != nil {
		s.serverError(w, r, "listing operators", err)
		return
	}
	writeJSON(w, http.StatusOK, OperatorsResponse{Operators: ops})
}

// addOperator creates an operator; the audit entry names the admin.
func (s *Server) addOperator(w http.ResponseWriter, r *http.Request) {
	var req OperatorRequest
	err := decodeBody(w, r, &req)
	if err == nil {
		_, err = noParams(r)
	}
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	var errs []error
	if err := access.ValidateName(req.Name); err != nil {
		errs = append(errs, err)
	}
	role, err := access.ParseRole(req.Role)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	admin, _ := access.OperatorFrom(r.Context())
	tok, err := access.CreateOperator(r.Context(), s.opts.Store,
		access.NewOperator{Name: req.Name, Role: role, By: admin.Name, At: s.opts.Now().UTC()})
	switch {
	case errors.Is(err, store.ErrExists):
		access.WriteError(w, http.StatusConflict, fmt.Sprintf("operator %q exists and is active: rotate their token or revoke them first", req.Name))
		return
	case err != nil:
		s.serverError(w, r, fmt.Sprintf("adding operator %q", req.Name), err)
		return
	}
	s.log.Info("operator added", "operator", req.Name, "role", role, "by", admin.Name, "token", tok)
	writeJSON(w, http.StatusCreated, OperatorTokenResponse{Name: req.Name, Role: string(role), Token: tok.Reveal(), Fingerprint: tok.Fingerprint()})
}

// revokeOperator ends an operator's token and console sessions at once.
// An admin cannot revoke themselves here (it could leave no admin; the
// CLI on the store can).
func (s *Server) revokeOperator(w http.ResponseWriter, r *http.Request) {
	name, ok := s.activeOperator(w, r)
	if !ok {
		return
	}
	admin, _ := access.OperatorFrom(r.Context())
	if name == admin.Name {
		access.WriteError(w, http.StatusConflict, fmt.Sprintf("operator %q is you: another admin revokes you (or `crmwatch operators revoke` on the store)", name))
		return
	}
	if err := access.RevokeOperator(r.Context(), s.opts.Store, name, admin.Name); err != nil {
		s.serverError(w, r, fmt.Sprintf("revoking operator %q", name), err)
		return
	}
	s.log.Info("operator revoked", "operator", name, "by", admin.Name)
	writeJSON(w, http.StatusOK, OperatorRevokeResponse{Name: name, Revoked: true})
}

// rotateOperator gives an operator a new token; the old one and its
// console sessions end at once.
func (s *Server) rotateOperator(w http.ResponseWriter, r *http.Request) {
	name, ok := s.activeOperator(w, r)
	if !ok {
		return
	}
	admin, _ := access.OperatorFrom(r.Context())
	tok, err := access.RotateOperator(r.Context(), s.opts.Store, name, admin.Name)
	if err != nil {
		s.serverError(w, r, fmt.Sprintf("rotating the token of operator %q", name), err)
		return
	}
	s.log.Info("operator token rotated", "operator", name, "by", admin.Name, "token", tok)
	writeJSON(w, http.StatusOK, OperatorTokenResponse{Name: name, Token: tok.Reveal(), Fingerprint: tok.Fingerprint()})
}

// activeOperator reads the {name} of the path and answers 404 for a name
// no operator ever had, 409 for one whose operators are all revoked.
func (s *Server) activeOperator(w http.ResponseWriter, r *http.Request) (string, bool) {
	var none struct{}
	err := decodeBody(w, r, &none)
	if err == nil {
		_, err = noParams(r)
	}
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	name := r.PathValue("name")
	ops, err := s.opts.Store.Operators(r.Context())
	if err != nil {
		s.serverError(w, r, "listing operators", err)
		return "", false
	}
	known := false
	for _, op := range ops {
		if op.Name == name && op.RevokedAt == nil {
			return name, true
		}
		known = known || op.Name == name
	}
	if known {
		access.WriteError(w, http.StatusConflict, fmt.Sprintf("operator %q is already revoked: add them again to give them a new token", name))
	} else {
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("no operator %q: see GET /api/v1/operators (`crmwatch operators list`)", name))
	}
	return "", false
}
