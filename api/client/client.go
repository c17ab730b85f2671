// Package client is the Go client of the crmwatch HTTP API, used by the CLI
// commands that talk to a running server (alerts, trace, …). Its errors say
// which server failed and what to do: start it, fix --url, or get a token.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"crmwatch/access"
	"crmwatch/alerts/suppress"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/certs"
	"crmwatch/secret"
	"crmwatch/store"
)

// Defaults shared by every command that talks to a server.
const (
	DefaultURL = "http://127.0.0.1:9470"
	EnvURL     = "CRMWATCH_URL"
	EnvToken   = "CRMWATCH_TOKEN"
)

// Errors a caller can test with errors.Is.
var (
	ErrUnreachable  = errors.New("server unreachable")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
)

// Options configure a Client.
type Options struct {
	// URL of the server; default DefaultURL.
	URL string
	// Token of the operator; without one every call but Health gets 401.
	Token access.Token
	// CA is the PEM file the server's certificate must chain to for an
	// https:// URL ("" uses $CRMWATCH_CA, then the system roots).
	CA string
	// InsecureSkipVerify accepts any server certificate (the CLI warns).
	InsecureSkipVerify bool
	// HTTPClient defaults to one with a 30 s timeout and the TLS settings
	// above.
	HTTPClient *http.Client
}

// Resolve fills Options from command-line values, falling back to the
// environment (CRMWATCH_URL, CRMWATCH_TOKEN) and then the defaults. The
// token arrives as a secret.Value from the flag and stays typed.
func Resolve(urlFlag string, tokenFlag secret.Value) (Options, error) {
	o := Options{URL: firstNonEmpty(urlFlag, os.Getenv(EnvURL), DefaultURL)}
	if raw := firstNonEmpty(tokenFlag.Reveal(), os.Getenv(EnvToken)); raw != "" {
		tok, err := access.ParseToken(raw)
		if err != nil {
			return o, fmt.Errorf("operator token from --token or %s: %w (copy the whole crmw_… text crmwatch operators add printed)", EnvToken, err)
		}
		o.Token = tok
	}
	return o, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Client calls one crmwatch server.
type Client struct {
	base  *url.URL
	token access.Token
	http  *http.Client
	ca    string // the CA file, for error messages
}

// New checks the URL and returns a client.
func New(o Options) (*Client, error) {
	raw := firstNonEmpty(o.URL, DefaultURL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://HOST:PORT or https://HOST:PORT (default %s)", raw, DefaultURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	hc := o.HTTPClient
	if hc == nil {
		cfg, err := certs.ClientConfig(certs.ClientOptions{CAFile: o.CA, InsecureSkipVerify: o.InsecureSkipVerify})
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg
		hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	ca := o.CA
	if ca == "" {
		ca = os.Getenv(certs.EnvCA)
	}
	return &Client{base: u, token: o.Token, http: hc, ca: ca}, nil
}

// URL is the server the client talks to.
func (c *Client) URL() string { return c.base.String() }

// AlertsQuery filters Alerts; zero values select everything.
type AlertsQuery struct {
	States       []string
	Severity     string
	Host         string
	Rule         string
	Organization string
	Assignee     string
	// TopLevel leaves out alerts grouped under a parent.
	TopLevel bool
	Parent   string
	Limit    int
	Offset   int
}

func (q AlertsQuery) values() url.Values {
	v := url.Values{}
	if len(q.States) > 0 {
		v.Set("state", strings.Join(q.States, ","))
	}
	for k, s := range map[string]string{"severity": q.Severity, "host": q.Host, "rule": q.Rule,
		"organization": q.Organization, "assignee": q.Assignee, "parent": q.Parent} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.TopLevel {
		v.Set("top", "true")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	return v
}

// Health checks /healthz (no token needed).
func (c *Client) Health(ctx context.Context) error {
	var out map[string]string
	return c.do(ctx, "GET", "/healthz", nil, &out)
}

// Alerts lists one page of alerts, most recently seen first, with the total.
func (c *Client) Alerts(ctx context.Context, q AlertsQuery) (api.AlertsResponse, error) {
	var out api.AlertsResponse
	err := c.do(ctx, "GET", "/api/v1/alerts", q.values(), &out)
	return out, err
}

// Alert returns one alert with knowledge, history, events and children.
func (c *Client) Alert(ctx context.Context, id string) (api.AlertDetail, error) {
	var out api.AlertDetail
	err := c.do(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Act performs one operator action ("acknowledge", "resolve", "comment"
// or "assign") on an alert as the token's operator. A refused action is an
// *Error of kind ErrConflict saying the alert's current state.
func (c *Client) Act(ctx context.Context, id, action string, req api.ActionRequest) (api.AlertDetail, error) {
	var out api.AlertDetail
	err := c.doBody(ctx, "POST", "/api/v1/alerts/"+url.PathEscape(id)+"/"+action, nil, req, &out)
	return out, err
}

// Bulk performs one action on several alerts, by ids or by a filter.
func (c *Client) Bulk(ctx context.Context, req api.BulkRequest) (api.BulkResponse, error) {
	var out api.BulkResponse
	err := c.doBody(ctx, "POST", "/api/v1/alerts/actions", nil, req, &out)
	return out, err
}

// Windows lists the maintenance windows.
func (c *Client) Windows(ctx context.Context) ([]api.WindowInfo, error) {
	var out api.WindowsResponse
	err := c.do(ctx, "GET", "/api/v1/maintenance", nil, &out)
	return out.Windows, err
}

// AddWindow creates a maintenance window.
func (c *Client) AddWindow(ctx context.Context, w suppress.Window) (api.WindowInfo, error) {
	var out api.WindowInfo
	err := c.doBody(ctx, "POST", "/api/v1/maintenance", nil, w, &out)
	return out, err
}

// RemoveWindow deletes a maintenance window.
func (c *Client) RemoveWindow(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/maintenance/"+url.PathEscape(id), nil, nil)
}

// Silences lists the silences, expired ones included.
func (c *Client) Silences(ctx context.Context) ([]api.SilenceInfo, error) {
	var out api.SilencesResponse
	err := c.do(ctx, "GET", "/api/v1/silences", nil, &out)
	return out.Silences, err
}

// AddSilence creates a silence.
func (c *Client) AddSilence(ctx context.Context, req api.SilenceRequest) (api.SilenceInfo, error) {
	var out api.SilenceInfo
	err := c.doBody(ctx, "POST", "/api/v1/silences", nil, req, &out)
	return out, err
}

// ExpireSilence ends a silence now.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/api/v1/silences/"+url.PathEscape(id)+"/expire", nil, nil)
}

// Agents lists the agents the server knows.
func (c *Client) Agents(ctx context.Context) ([]api.AgentInfo, error) {
	var out api.AgentsResponse
	err := c.do(ctx, "GET", "/api/v1/agents", nil, &out)
	return out.Agents, err
}

// AuditQuery filters Audit; zero values select the server's defaults.
type AuditQuery struct {
	// Since is an RFC 3339 time or a duration before now (24h, 7d).
	Since string
	Actor string
	Limit int
}

// Audit reads the audit log (admin), latest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]store.AuditEntry, error) {
	v := url.Values{}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.AuditResponse
	err := c.do(ctx, "GET", "/api/v1/audit", v, &out)
	return out.Entries, err
}

// Do calls any API route (for commands whose routes other packages add, such
// as trace settings): body is sent as JSON when not nil, the answer decoded
// into out when not nil.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.doBody(ctx, method, path, nil, body, out)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out any) error {
	return c.doBody(ctx, method, path, q, nil, out)
}

func (c *Client) doBody(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !c.token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if tlsErr := certs.Explain(err, c.ca); tlsErr != err {
			return &Error{Kind: ErrUnreachable, Message: fmt.Sprintf("crmwatch server at %s: %v", c.base, tlsErr)}
		}
		return &Error{Kind: ErrUnreachable, Message: fmt.Sprintf("cannot reach the crmwatch server at %s (%v): start it with `crmwatch server`, or point --url / %s at it",
			c.base, unwrapURLError(err), EnvURL)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s at %s: read answer: %w", method, path, c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		return c.statusError(method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s at %s: answer is not the expected JSON (is %s a crmwatch server?): %w", method, path, c.base, c.base, err)
	}
	return nil
}

// unwrapURLError drops url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// CapacityReport fetches the capacity report over the window since (e.g.
// "30d"; empty: the server's default).
func (c *Client) CapacityReport(ctx context.Context, since string) (*report.Report, error) {
	v := url.Values{}
	if since != "" {
		v.Set("since", since)
	}
	var out report.Report
	if err := c.do(ctx, "GET", "/api/v1/reports/capacity", v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
