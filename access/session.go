package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"crmwatch/store"
)

// Console sessions: a browser signs in once with an operator token and
// then carries a session cookie instead. The cookie is HttpOnly, SameSite
// Strict and Secure over TLS; state-changing requests must also carry the
// session's CSRF token in CSRFHeader (or the form field CSRFField), which
// a page of another site can neither read nor forge.
const (
	// SessionCookie names the cookie holding the session id.
	SessionCookie = "crmwatch_session"
	// CSRFHeader carries the CSRF token of fetch requests.
	CSRFHeader = "X-CSRF-Token"
	// CSRFField carries it in HTML forms.
	CSRFField = "csrf"
	// DefaultSessionTTL is how long a session lasts (a NOC shift and some).
	DefaultSessionTTL = 12 * time.Hour
)

const sessionPrefix = "crms_"

// SessionID is the secret a session cookie holds; like Token, every way of
// printing it shows a fingerprint only. The store keeps only its Hash.
type SessionID struct{ s func() string }

// NewSessionID returns a fresh random session id (256 bits).
func NewSessionID() (SessionID, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return SessionID{}, fmt.Errorf("generate session id: %w", err)
	}
	v := sessionPrefix + tokenEncoding.EncodeToString(b)
	return SessionID{func() string { return v }}, nil
}

// ParseSessionID checks a cookie value's shape; errors never repeat it.
func ParseSessionID(s string) (SessionID, error) {
	if !strings.HasPrefix(s, sessionPrefix) || len(s) != len(sessionPrefix)+tokenEncoding.EncodedLen(tokenBytes) {
		return SessionID{}, errors.New("malformed session cookie")
	}
	if _, err := tokenEncoding.DecodeString(s[len(sessionPrefix):]); err != nil {
		return SessionID{}, errors.New("malformed session cookie")
	}
	return SessionID{func() string { return s }}, nil
}

// Reveal returns the cookie value.
func (id SessionID) Reveal() string {
	if id.s == nil {
		return ""
	}
	return id.s()
}

// Hash is what the store keeps.
func (id SessionID) Hash() []byte {
	h := sha256.Sum256([]byte(id.Reveal()))
	return h[:]
}

// CSRF is the session's CSRF token: derived from the id by a one-way hash,
// so it needs no storage and reveals nothing of the cookie.
func (id SessionID) CSRF() string {
	h := sha256.Sum256([]byte("crmwatch-csrf\x00" + id.Reveal()))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// CheckCSRF compares a presented CSRF token in constant time.
func (id SessionID) CheckCSRF(presented string) bool {
	want := id.CSRF()
	return len(presented) == len(want) && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}

// String shows a fingerprint only.
func (id SessionID) String() string {
	if id.s == nil {
		return "session(none)"
	}
	return fmt.Sprintf("session(sha256:%x…)", id.Hash()[:4])
}

// GoString keeps %#v redacted.
func (id SessionID) GoString() string { return "access.SessionID{" + id.String() + "}" }

// Format makes every fmt verb print String.
func (id SessionID) Format(f fmt.State, _ rune) { io.WriteString(f, id.String()) } //nolint:errcheck

// LogValue makes slog print the redacted form.
func (id SessionID) LogValue() slog.Value { return slog.StringValue(id.String()) }

// MarshalText writes the redacted form.
func (id SessionID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// SessionStore is the part of the store sessions need.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session, tokenHash []byte) (store.Operator, error)
	SessionOperator(ctx context.Context, idHash []byte, now time.Time) (store.Operator, store.Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	PruneSessions(ctx context.Context, before time.Time) (int, error)
}

// AcceptSessions makes the authenticator accept console session cookies
// besides bearer tokens; now is the clock of expiry (default time.Now).
func (a *Authenticator) AcceptSessions(st SessionStore, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	a.sessions, a.now = st, now
	return a
}

// SignIn exchanges an operator token for a new session lasting ttl.
func (a *Authenticator) SignIn(ctx context.Context, tok Token, ttl time.Duration) (SessionID, Operator, time.Time, error) {
	if a.sessions == nil {
		return SessionID{}, Operator{}, time.Time{}, errors.New("sessions are not enabled on this server")
	}
	id, err := NewSessionID()
	if err != nil {
		return SessionID{}, Operator{}, time.Time{}, err
	}
	now := a.now().UTC()
	// Expired sessions are refused by the lookup anyway; dropping them at
	// each sign-in keeps the table as small as the sessions in use.
	if _, err := a.sessions.PruneSessions(ctx, now); err != nil {
		a.log.Warn("pruning expired console sessions", "err", err)
	}
	sess := store.Session{IDHash: id.Hash(), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	sop, err := a.sessions.CreateSession(ctx, sess, tok.Hash())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return SessionID{}, Operator{}, time.Time{}, fmt.Errorf("%w: %s belongs to no active operator (revoked, rotated or never issued)", ErrUnauthenticated, tok)
	case err != nil:
		return SessionID{}, Operator{}, time.Time{}, err
	}
	op, err := operatorOf(sop)
	if err != nil {
		return SessionID{}, Operator{}, time.Time{}, errors.Join(err, a.sessions.DeleteSession(ctx, id.Hash()))
	}
	a.log.Info("console sign-in", "operator", op.Name, "session", id, "expires", sess.ExpiresAt)
	return id, op, sess.ExpiresAt, nil
}

// SignOut ends the session of the request's cookie, if any.
func (a *Authenticator) SignOut(ctx context.Context, r *http.Request) error {
	id, ok := SessionFrom(r)
	if !ok || a.sessions == nil {
		return nil
	}
	return a.sessions.DeleteSession(ctx, id.Hash())
}

// SessionFrom returns the well-formed session id of r's cookie.
func SessionFrom(r *http.Request) (SessionID, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return SessionID{}, false
	}
	id, err := ParseSessionID(c.Value)
	return id, err == nil
}

// ErrCSRF: a session request that changes state without its CSRF token.
var ErrCSRF = errors.New("missing or wrong CSRF token")

// safeMethod reports methods that change nothing (no CSRF check).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticateSession resolves r's session cookie; unsafe methods must
// carry the CSRF token.
func (a *Authenticator) authenticateSession(r *http.Request) (Operator, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Operator{}, fmt.Errorf("%w: no Authorization header and no session cookie", ErrUnauthenticated)
	}
	id, err := ParseSessionID(c.Value)
	if err != nil {
		return Operator{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	sop, _, err := a.sessions.SessionOperator(r.Context(), id.Hash(), a.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Operator{}, fmt.Errorf("%w: %s has ended (signed out, expired, or its operator was revoked or rotated)", ErrUnauthenticated, id)
	case err != nil:
		return Operator{}, fmt.Errorf("look up %s: %w", id, err)
	}
	op, err := operatorOf(sop)
	if err != nil {
		return op, err
	}
	if !safeMethod(r.Method) {
		presented := r.Header.Get(CSRFHeader)
		if presented == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			presented = r.PostFormValue(CSRFField)
		}
		if !id.CheckCSRF(presented) {
			return op, fmt.Errorf("%w: %w: send the session's token in %s (the console does)", ErrForbidden, ErrCSRF, CSRFHeader)
		}
	}
	return op, nil
}
