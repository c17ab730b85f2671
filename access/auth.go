package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"crmwatch/store"
)

// Operator is the authenticated principal of a request. It is the only kind
// of principal there is.
type Operator struct {
	Name string
	Role Role
}

// Can reports whether the operator holds p.
func (o Operator) Can(p Permission) bool { return o.Role.Can(p) }

type ctxKey struct{}

// WithOperator returns ctx carrying op.
func WithOperator(ctx context.Context, op Operator) context.Context {
	return context.WithValue(ctx, ctxKey{}, op)
}

// OperatorFrom returns the operator the middleware authenticated.
func OperatorFrom(ctx context.Context) (Operator, bool) {
	op, ok := ctx.Value(ctxKey{}).(Operator)
	return op, ok
}

// Sentinel errors of Authenticate.
var (
	// ErrUnauthenticated: no token, a malformed one, or one of no active
	// operator.
	ErrUnauthenticated = errors.New("missing or invalid operator token")
	// ErrForbidden: a known operator whose role may not do this.
	ErrForbidden = errors.New("forbidden")
)

// TokenLookup is the part of the store authentication needs.
type TokenLookup interface {
	OperatorByTokenHash(ctx context.Context, tokenHash []byte) (store.Operator, error)
}

// Authenticator checks bearer tokens against the store.
type Authenticator struct {
	lookup TokenLookup
	log    *slog.Logger
	// sessions, when set (AcceptSessions), lets console session cookies
	// in too; now is their clock.
	sessions SessionStore
	now      func() time.Time
}

// NewAuthenticator checks tokens against lookup (usually the store). Failures
// are logged at warn level with the token's fingerprint, never the token.
func NewAuthenticator(lookup TokenLookup, logger *slog.Logger) *Authenticator {
	if logger == nil {
		logger = slog.Default()
	}
	return &Authenticator{lookup: lookup, log: logger.With("component", "access")}
}

// Authenticate resolves an Authorization header value to an active operator.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Operator, error) {
	scheme, raw, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if authorization == "" {
		return Operator{}, fmt.Errorf("%w: no Authorization header", ErrUnauthenticated)
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Operator{}, fmt.Errorf("%w: Authorization is not a Bearer token", ErrUnauthenticated)
	}
	tok, err := ParseToken(raw)
	if err != nil {
		return Operator{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	sop, err := a.lookup.OperatorByTokenHash(ctx, tok.Hash())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Operator{}, fmt.Errorf("%w: %s belongs to no active operator (revoked or never issued)", ErrUnauthenticated, tok)
	case err != nil:
		return Operator{}, fmt.Errorf("look up operator for %s: %w", tok, err)
	}
	return operatorOf(sop)
}

// operatorOf checks a stored operator's role.
func operatorOf(sop store.Operator) (Operator, error) {
	role := Role(sop.Role)
	if _, known := grants[role]; !known {
		// A stored role outside the three (say a hand-edited row) grants
		// nothing; compared exactly, not leniently as on the command line.
		return Operator{Name: sop.Name}, fmt.Errorf("%w: operator %q has unknown role %q (want admin, operator or readonly)",
			ErrForbidden, sop.Name, sop.Role)
	}
	return Operator{Name: sop.Name, Role: role}, nil
}

// AuthenticateRequest resolves a request to an active operator: by its
// bearer token, or, when sessions are accepted and no Authorization header
// is sent, by its console session cookie (with the CSRF check for methods
// that change state).
func (a *Authenticator) AuthenticateRequest(r *http.Request) (Operator, error) {
	if a.sessions != nil && r.Header.Get("Authorization") == "" {
		if _, err := r.Cookie(SessionCookie); err == nil {
			return a.authenticateSession(r)
		}
	}
	return a.Authenticate(r.Context(), r.Header.Get("Authorization"))
}

// Require wraps next so it runs only for an active operator holding p: 401
// with WWW-Authenticate: Bearer without a valid token, 403 for a role that
// may not, 503 when the store cannot answer. The operator is put in the
// request context.
func (a *Authenticator) Require(p Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, err := a.AuthenticateRequest(r)
		if err == nil && !op.Can(p) {
			err = fmt.Errorf("%w: operator %q (role %s) may not %s", ErrForbidden, op.Name, op.Role, p.Describe())
		}
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(WithOperator(r.Context(), op)))
		case errors.Is(err, ErrUnauthenticated):
			a.log.Warn("authentication failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="crmwatch"`)
			WriteError(w, http.StatusUnauthorized, err.Error()+
				": send Authorization: Bearer <token>; an admin issues one with `crmwatch operators add NAME --role ROLE`")
		case errors.Is(err, ErrCSRF):
			a.log.Warn("request without its CSRF token refused", "path", r.URL.Path, "operator", op.Name, "remote", r.RemoteAddr)
			WriteError(w, http.StatusForbidden, err.Error())
		case errors.Is(err, ErrForbidden):
			a.log.Warn("permission denied", "path", r.URL.Path, "operator", op.Name, "err", err)
			WriteError(w, http.StatusForbidden, err.Error()+": ask an admin for a role that may")
		default:
			a.log.Error("authentication unavailable", "path", r.URL.Path, "err", err)
			WriteError(w, http.StatusServiceUnavailable, "cannot check operator tokens right now (store unavailable): retry, and check the server log")
		}
	})
}

// WriteError writes the JSON error body every API route uses.
func WriteError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct { //nolint:errcheck // the client went away
		Error string `json:"error"`
	}{msg})
}
