package grafana

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"crmwatch/secret"
)

// EnvToken is the environment variable holding the Grafana service-account
// token when --grafana-token is not given.
const EnvToken = "CRMWATCH_GRAFANA_TOKEN"

// TokenHelp says which token a push needs: every call's permission is held
// by a service account with the organization Admin role.
const TokenHelp = "a Grafana service-account token of the target organization with the Admin role " +
	"(Administration → Users and access → Service accounts); pass it with --grafana-token or $" + EnvToken

// ClientOptions configure a Client.
type ClientOptions struct {
	// URL is Grafana's base URL (http or https, no credentials in it).
	URL string
	// Token is the service-account token, sent as a bearer token.
	Token secret.Value
	// TLS is the client TLS configuration (nil: the system roots).
	TLS *tls.Config
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
}

// Client calls Grafana's HTTP API (the /api endpoints documented under
// docs/sources/developers/http_api of grafana/grafana).
type Client struct {
	base  *url.URL
	token secret.Value
	http  *http.Client
}

// NewClient checks the options and returns a client.
func NewClient(o ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(o.URL), "/"))
	switch {
	case o.URL == "":
		return nil, errors.New("--grafana URL is required (for example https://grafana.example.com)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("--grafana %q: want an http:// or https:// URL of Grafana", secret.RedactURL(o.URL))
	case u.User != nil:
		return nil, errors.New("--grafana: put no credentials in the URL; use " + TokenHelp)
	case o.Token.IsZero():
		return nil, errors.New("no Grafana token: " + TokenHelp)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.TLS != nil {
		tr.TLSClientConfig = o.TLS
	}
	return &Client{base: u, token: o.Token, http: &http.Client{Transport: tr, Timeout: o.Timeout}}, nil
}

// URL is Grafana's base URL.
func (c *Client) URL() string { return c.base.String() }

// APIError is an answer of Grafana other than 2xx: the status, Grafana's
// message and status word ({"message": …, "status": …}) and what to do.
type APIError struct {
	Method, Path string
	Code         int
	Message      string // Grafana's "message"
	Status       string // Grafana's "status" (version-mismatch, name-exists, not-found…)
	Need         string // the permission the call needs, for 401 and 403
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("Grafana %s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Code {
	case http.StatusUnauthorized:
		msg += " — Grafana did not accept the token: use " + TokenHelp
	case http.StatusForbidden:
		msg += " — give the token's service account the organization Admin role (it holds " + e.Need + " and every other permission a push needs)"
	case http.StatusNotFound:
		if e.Message == "" { // not Grafana's JSON: another web server, or a wrong path prefix
			msg += " — no Grafana API answered there: check --grafana (with Grafana under a path, include it: https://host/grafana)"
		}
	case http.StatusPreconditionFailed:
		if e.Status == "version-mismatch" {
			msg += " — someone changed it in Grafana while crmwatch was pushing; run the push again (it re-reads the current version)"
		}
	}
	return msg
}

// IsNotFound reports whether err is Grafana's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// call sends in as JSON (when not nil) and decodes the answer into out
// (when not nil). need names the Grafana permission the call requires.
func (c *Client) call(ctx context.Context, method, path, need string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	ref, err := url.Parse(path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.ResolveReference(&url.URL{Path: c.base.Path + ref.Path, RawQuery: ref.RawQuery}).String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL has no credentials (NewClient refuses them); the token is
		// in a header, which url.Error does not print. Scrub anyway.
		cause := secret.Scrub(rootCause(err), c.token)
		var tv *tls.CertificateVerificationError
		if errors.As(err, &tv) {
			return fmt.Errorf("Grafana at %s: %s (its HTTPS certificate is not trusted: pass the CA it chains to with --ca FILE)", c.base, cause)
		}
		return fmt.Errorf("Grafana at %s is unreachable: %s (check --grafana and that Grafana is running)", c.base, cause)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("Grafana %s %s: reading the answer: %w", method, ref.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Message, Status string }
		_ = json.Unmarshal(data, &e) // a non-JSON body leaves the status code alone
		return &APIError{Method: method, Path: ref.Path, Code: resp.StatusCode,
			Message: secret.Scrub(e.Message, c.token), Status: e.Status, Need: need}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("Grafana %s %s: unexpected answer (%v): is %s a Grafana?", method, ref.Path, err, c.base)
	}
	return nil
}

// rootCause is the innermost error text of a failed request (the dial
// error, not the url.Error wrapper that repeats method and URL).
func rootCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
