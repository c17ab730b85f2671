// Package console is the operator console in the browser, served by
// crmwatch server on the API's listener: sign-in with an operator token
// exchanged for a session cookie, the alert list with live updates (Server-
// Sent Events fed by the alert-changes stream), alert detail and actions,
// agents, maintenance windows and silences, trace control, the packs'
// dashboards drawn from the server's history (inline SVG), audit and
// operators. Pages are Go templates and one small script embedded in the
// binary; the script reads and acts only through the HTTP API, so the
// console can do nothing the API would not let the operator do.
//
// Every response carries a strict Content-Security-Policy (no inline
// script, no other origin, frame-ancestors 'none'). Every route but the
// sign-in page, its static files and /healthz needs a session (or a bearer
// token); pages redirect to the sign-in page without one.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
)

//go:embed web
var webFS embed.FS

// ChangeSource delivers committed alert changes published from now on,
// calling fn for each until ctx ends or the source fails.
type ChangeSource func(ctx context.Context, fn func(alerts.Committed)) error

// Options wire the console. API and Auth are required.
type Options struct {
	// API serves /api/, /metrics and /healthz.
	API http.Handler
	// APIRoutes are the API's routes, listed with the console's by Routes.
	APIRoutes []api.Route
	// Auth authenticates bearer tokens and sessions (it must accept
	// sessions: access.Authenticator.AcceptSessions).
	Auth *access.Authenticator
	// Changes feeds the live updates; without it /events answers 503.
	Changes ChangeSource
	// SessionTTL is how long a sign-in lasts (default access.DefaultSessionTTL).
	SessionTTL time.Duration
	// Recheck is how often an open event stream checks that its session
	// still holds (default 5s), so a revoked operator's stream ends too.
	Recheck time.Duration
	Version string
	Logger  *slog.Logger
}

// Console is the console's handler, in front of the API.
type Console struct {
	opts Options
	// closing ends the open event streams when the server shuts down
	// (http.Server.Shutdown waits for idle connections; a stream never is).
	closing   chan struct{}
	closeOnce sync.Once
	log       *slog.Logger
	mux       *http.ServeMux
	pages     map[string]*template.Template
	routes    []api.Route
	static    http.Handler
}

// Open routes: everything else needs an operator.
var openRoutes = map[string]bool{"GET /signin": true, "POST /signin": true, "GET /static/{file}": true, "GET /healthz": true}

// New builds the console.
func New(opts Options) (*Console, error) {
	if opts.API == nil || opts.Auth == nil {
		return nil, errors.New("console: Options.API and Options.Auth are required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = access.DefaultSessionTTL
	}
	if opts.Recheck <= 0 {
		opts.Recheck = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Console{opts: opts, log: opts.Logger.With("component", "console"), mux: http.NewServeMux(), closing: make(chan struct{})}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(webFS, "web/static")
	c.static = http.StripPrefix("/static/", http.FileServerFS(static))
	h := func(f http.HandlerFunc) http.Handler { return f }
	c.routes = []api.Route{
		{Method: "GET", Pattern: "/signin", Handler: h(c.signinPage)},
		{Method: "POST", Pattern: "/signin", Handler: h(c.signin)},
		{Method: "GET", Pattern: "/static/{file}", Handler: h(c.serveStatic)},
		{Method: "POST", Pattern: "/signout", Permission: access.PermRead, Handler: h(c.signout)},
		{Method: "GET", Pattern: "/{$}", Permission: access.PermRead, Handler: http.RedirectHandler("/alerts", http.StatusSeeOther)},
		{Method: "GET", Pattern: "/alerts", Permission: access.PermRead, Handler: c.page("alerts", "Alerts")},
		{Method: "GET", Pattern: "/alerts/{id}", Permission: access.PermRead, Handler: c.page("alert", "Alert")},
		{Method: "GET", Pattern: "/agents", Permission: access.PermRead, Handler: c.page("agents", "Agents")},
		{Method: "GET", Pattern: "/maintenance", Permission: access.PermRead, Handler: c.page("maintenance", "Maintenance and silences")},
		{Method: "GET", Pattern: "/trace", Permission: access.PermRead, Handler: c.page("trace", "Trace control")},
		{Method: "GET", Pattern: "/dashboards", Permission: access.PermRead, Handler: c.page("dashboards", "Dashboards")},
		{Method: "GET", Pattern: "/dashboards/{id}", Permission: access.PermRead, Handler: c.page("dashboard", "Dashboard")},
		{Method: "GET", Pattern: "/audit", Permission: access.PermAdmin, Handler: c.page("audit", "Audit log")},
		{Method: "GET", Pattern: "/operators", Permission: access.PermAdmin, Handler: c.page("operators", "Operators")},
		{Method: "GET", Pattern: "/events", Permission: access.PermRead, Handler: h(c.events)},
	}
	for _, r := range c.routes {
		pattern := r.Method + " " + r.Pattern
		switch {
		case openRoutes[pattern]:
			c.mux.Handle(pattern, r.Handler)
		case r.Permission == "":
			return nil, fmt.Errorf("console: route %s has no permission", pattern)
		case r.Pattern == "/events":
			c.mux.Handle(pattern, opts.Auth.Require(r.Permission, r.Handler))
		default:
			c.mux.Handle(pattern, c.requirePage(r.Permission, r.Handler))
		}
	}
	for _, p := range []string{"/api/", "/metrics", "/healthz"} {
		c.mux.Handle(p, opts.API)
	}
	// Anything else: the sign-in page without a session, a 404 page with one.
	c.mux.Handle("/", c.requirePage(access.PermRead, h(c.notFound)))
	return c, nil
}

// Routes lists every route the listener serves: the API's and the
// console's, so a test can try each without and with each role.
func (c *Console) Routes() []api.Route {
	out := append([]api.Route(nil), c.opts.APIRoutes...)
	return append(out, c.routes...)
}

// ServeHTTP serves the console and the API behind it with the security
// headers and the cross-origin check.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w, r)
	crossOrigin.Handler(c.mux).ServeHTTP(w, r)
}

// crossOrigin refuses state-changing requests a browser marks as coming
// from another site (Sec-Fetch-Site, Origin), before any CSRF token is
// even looked at; tools without those headers (the CLI) pass.
var crossOrigin = http.NewCrossOriginProtection()

// CSP allows only this origin's script, style and fetches, no inline code,
// no framing, and forms posting only here.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
}

// requirePage runs next for an operator holding p; without a valid
// session a GET is redirected to the sign-in page (other methods get 401),
// a role that may not gets a 403 page.
func (c *Console) requirePage(p access.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, err := c.opts.Auth.AuthenticateRequest(r)
		if err == nil && !op.Can(p) {
			err = fmt.Errorf("%w: operator %q (role %s) may not %s", access.ErrForbidden, op.Name, op.Role, p.Describe())
		}
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(access.WithOperator(r.Context(), op)))
		case errors.Is(err, access.ErrUnauthenticated):
			if _, had := access.SessionFrom(r); had {
				clearCookie(w, r)
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				c.errorPage(w, r, http.StatusUnauthorized, "Not signed in", "Your session has ended: sign in again.")
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case errors.Is(err, access.ErrForbidden):
			c.log.Warn("permission denied", "path", r.URL.Path, "operator", op.Name, "err", err)
			c.errorPage(w, r, http.StatusForbidden, "Not allowed", err.Error()+". Ask an admin for a role that may.")
		default:
			c.log.Error("authentication unavailable", "path", r.URL.Path, "err", err)
			c.errorPage(w, r, http.StatusServiceUnavailable, "Cannot check your session",
				"The store is not answering: retry in a moment, and check the server log.")
		}
	})
}

// Shutdown ends every open event stream; the browsers reconnect to
// whichever server answers next. Register it with
// http.Server.RegisterOnShutdown.
func (c *Console) Shutdown() { c.closeOnce.Do(func() { close(c.closing) }) }

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	c.static.ServeHTTP(w, r)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page "+r.URL.Path+".")
}
