package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// TokenPrefix starts every operator token so that a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "crmw_"

const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding.Strict()

// tokenLen is the length of a well-formed token.
var tokenLen = len(TokenPrefix) + tokenEncoding.EncodedLen(tokenBytes)

// Token is an operator's bearer secret. Every way of printing it — String,
// fmt verbs, JSON, text, slog — shows only a short fingerprint of its hash.
// Reveal returns the secret; call it only to hand the token to its owner
// once, or to put it on the wire.
//
// The secret is captured by a closure, which reflection cannot look into: a
// Token nested in an unexported field, where fmt cannot call its methods,
// still prints as a function address.
type Token struct{ s func() string }

func newToken(v string) Token { return Token{func() string { return v }} }

// GenerateToken returns a new random token (256 bits of entropy). Only its
// Hash is stored; the token itself is shown to the operator once.
func GenerateToken() (Token, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return Token{}, fmt.Errorf("generate token: %w", err)
	}
	return newToken(TokenPrefix + tokenEncoding.EncodeToString(b)), nil
}

// ErrMalformedToken is returned for text that cannot be an operator token.
var ErrMalformedToken = errors.New("malformed operator token")

// ParseToken checks the shape of a token given on the command line, in the
// environment or in an Authorization header. Errors never repeat the input.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Token{}, fmt.Errorf("%w: empty", ErrMalformedToken)
	case !strings.HasPrefix(s, TokenPrefix):
		return Token{}, fmt.Errorf("%w: does not start with %q", ErrMalformedToken, TokenPrefix)
	case len(s) != tokenLen:
		return Token{}, fmt.Errorf("%w: %d characters, want %d", ErrMalformedToken, len(s), tokenLen)
	}
	if _, err := tokenEncoding.DecodeString(s[len(TokenPrefix):]); err != nil {
		return Token{}, fmt.Errorf("%w: not base64url after the prefix", ErrMalformedToken)
	}
	return newToken(s), nil
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.s == nil }

// Reveal returns the secret text.
func (t Token) Reveal() string {
	if t.s == nil {
		return ""
	}
	return t.s()
}

// Hash is what the store keeps: SHA-256 of the token text. A 256-bit random
// token needs no salt or slow hash.
func (t Token) Hash() []byte {
	h := sha256.Sum256([]byte(t.Reveal()))
	return h[:]
}

// Fingerprint is the first 8 hex digits of the hash: enough to tell tokens
// apart in logs, useless to an attacker.
func (t Token) Fingerprint() string {
	if t.s == nil {
		return ""
	}
	return hex.EncodeToString(t.Hash()[:4])
}

// String shows the fingerprint only.
func (t Token) String() string {
	if t.s == nil {
		return "token(none)"
	}
	return "token(sha256:" + t.Fingerprint() + "…)"
}

// GoString keeps %#v redacted too.
func (t Token) GoString() string { return "access.Token{" + t.String() + "}" }

// Format makes every fmt verb (%s, %v, %+v, %q, %x, …) print String.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString()) //nolint:errcheck // fmt.State writes cannot be reported
		return
	}
	io.WriteString(f, t.String()) //nolint:errcheck
}

// MarshalJSON writes the redacted form.
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// MarshalText writes the redacted form (YAML, text encoders).
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// LogValue makes slog print the redacted form.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }
