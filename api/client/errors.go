package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"crmwatch/api"
)

// Error is a failed call: Kind is one of the Err… sentinels when the failure
// has one (errors.Is works), Status the HTTP status (0 if none came back).
type Error struct {
	Kind    error
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match Kind.
func (e *Error) Unwrap() error { return e.Kind }

func (c *Client) statusError(method, path string, code int, body []byte) error {
	var er api.ErrorResponse
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &er) == nil && er.Error != "" {
		msg = er.Error
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	e := &Error{Status: code}
	switch code {
	case http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
		what := "no operator token was given"
		if !c.token.IsZero() {
			what = fmt.Sprintf("the operator token with fingerprint %s is invalid or revoked", c.token.Fingerprint())
		}
		e.Message = fmt.Sprintf("server at %s refused the request: %s. Pass --token or set %s; an admin creates a token with `crmwatch operators add NAME --role readonly`",
			c.base, what, EnvToken)
		return e
	case http.StatusForbidden:
		e.Kind = ErrForbidden
	case http.StatusNotFound:
		e.Kind = ErrNotFound
	case http.StatusConflict:
		e.Kind = ErrConflict
	}
	e.Message = fmt.Sprintf("%s %s at %s: %d %s: %s", method, path, c.base, code, http.StatusText(code), msg)
	return e
}
