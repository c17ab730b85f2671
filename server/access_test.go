package server

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/api"
)

// consoleClient signs in through the console's form and keeps the cookie.
type consoleClient struct {
	base   string
	cookie *http.Cookie
	csrf   string
	token  access.Token
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func signIn(t *testing.T, srv *Server, name string, role access.Role) *consoleClient {
	t.Helper()
	tok, err := access.CreateOperator(context.Background(), srv.Store(), access.NewOperator{Name: name, Role: role, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.HTTPAddr()
	resp, err := noRedirects.PostForm(base+"/signin", url.Values{"token": {tok.Reveal()}, "next": {"/alerts"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/alerts" {
		t.Fatalf("sign-in of %s: %d → %q", name, resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == access.SessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie of %s: %+v (want HttpOnly, SameSite=Strict, Path=/)", name, c)
	}
	id, err := access.ParseSessionID(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleClient{base: base, cookie: c, csrf: id.CSRF(), token: tok}
}

// auth says how a request authenticates.
type auth int

const (
	authNone auth = iota
	authSession
	authSessionNoCSRF
	authBearer
)

func (c *consoleClient) do(t *testing.T, ctx context.Context, method, path string, how auth, hdr map[string]string) *http.Response {
	t.Helper()
	var body *strings.Reader
	if method == "GET" || method == "HEAD" {
		body = strings.NewReader("")
	} else {
		body = strings.NewReader("{}")
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.base+path, body)
	switch how {
	case authSession:
		req.AddCookie(c.cookie)
		req.Header.Set(access.CSRFHeader, c.csrf)
	case authSessionNoCSRF:
		req.AddCookie(c.cookie)
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func concrete(pattern string) string {
	r := strings.NewReplacer("{id}", "x", "{name}", "x", "{file}", "app.css", "{$}", "")
	return r.Replace(pattern)
}

// Every route of the listener — API, console pages, the event stream —
// refuses a request without a session or token (401, or a redirect to the
// sign-in page for pages), refuses a session's state-changing request
// without its CSRF token, refuses every role that lacks the route's
// permission (403, by session and by token), refuses cross-site posts, and
// sends the security headers. Only the sign-in page, its static files and
// /healthz are open. There is no customer principal: the roles are the
// three operator roles.
func TestEveryRouteNeedsAnOperator(t *testing.T) {
	srv, stop := running(t, t.TempDir())
	defer stop()
	if got := access.Roles(); !slices.Equal(got, []access.Role{access.RoleAdmin, access.RoleOperator, access.RoleReadonly}) {
		t.Fatalf("roles %v: only the three operator roles may exist", got)
	}
	clients := map[access.Role]*consoleClient{}
	for _, r := range access.Roles() {
		clients[r] = signIn(t, srv, "op-"+string(r), r)
	}
	anon := &consoleClient{base: clients[access.RoleAdmin].base}
	routes := srv.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes listed", len(routes))
	}
	var open []string
	for _, rt := range routes {
		pattern := rt.Method + " " + rt.Pattern
		path := concrete(rt.Pattern)
		isAPI := strings.HasPrefix(rt.Pattern, "/api/") || rt.Pattern == "/metrics" || rt.Pattern == "/healthz"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp := anon.do(t, ctx, rt.Method, path, authNone, nil)
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", pattern, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing: %v", pattern, resp.Header)
		}
		if rt.Permission == "" {
			open = append(open, pattern)
			cancel()
			continue
		}
		switch {
		case isAPI || rt.Pattern == "/events" || rt.Method != "GET":
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s without a session: %d, want 401", pattern, resp.StatusCode)
			}
		default:
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=") {
				t.Errorf("%s without a session: %d → %q, want 303 to the sign-in page", pattern, resp.StatusCode, loc)
			}
		}
		if rt.Method != "GET" {
			resp := clients[access.RoleAdmin].do(t, ctx, rt.Method, path, authSessionNoCSRF, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s by an admin's session without the CSRF token: %d, want 403", pattern, resp.StatusCode)
			}
			resp = clients[access.RoleAdmin].do(t, ctx, rt.Method, path, authSession,
				map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s cross-site with a valid session and token: %d, want 403", pattern, resp.StatusCode)
			}
		}
		for _, role := range access.Roles() {
			if role.Can(rt.Permission) {
				continue
			}
			for _, how := range []auth{authSession, authBearer} {
				resp := clients[role].do(t, ctx, rt.Method, path, how, nil)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s by %s (auth %d): %d, want 403", pattern, role, how, resp.StatusCode)
				}
			}
		}
		if rt.Method == "GET" { // an admin gets through (the stream answers 200 and keeps going)
			resp := clients[access.RoleAdmin].do(t, ctx, rt.Method, path, authSession, nil)
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s by an admin: %d", pattern, resp.StatusCode)
			}
		}
		cancel()
	}
	slices.Sort(open)
	if want := []string{"GET /healthz", "GET /signin", "GET /static/{file}", "POST /signin"}; !slices.Equal(open, want) {
		t.Errorf("open routes %v, want exactly %v", open, want)
	}
	// The list is the routes the listener serves; these must be among them
	// (the stream, a page, the console's own actions and their API routes).
	for _, want := range []string{"GET /events", "GET /alerts/{id}", "GET /operators", "POST /api/v1/alerts/{id}/acknowledge",
		"POST /api/v1/alerts/actions", "POST /api/v1/operators", "POST /api/v1/operators/{name}/revoke",
		"POST /api/v1/operators/{name}/rotate"} {
		if !slices.ContainsFunc(routes, func(rt api.Route) bool { return rt.Method+" "+rt.Pattern == want }) {
			t.Errorf("the route list misses %s", want)
		}
	}
}

// The event stream carries committed alert changes as they happen and
// ends once the operator is revoked.
func TestEventStreamAndRevocation(t *testing.T) {
	srv, stop := running(t, t.TempDir())
	defer stop()
	c := signIn(t, srv, "nina", access.RoleReadonly)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := c.do(t, ctx, "GET", "/events", authSession, nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := publisherTo(t, srv.NATSURL().Reveal()).Emit(ctx, sqlErrors("CRMAPP01", "fp1", 0, 3)); err != nil {
		t.Fatal(err)
	}
	await := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %q on the stream", want)
			}
		}
	}
	await(`"rule":"crm.trace.sql-error"`)
	if err := access.RevokeOperator(context.Background(), srv.Store(), "nina", "test"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	await("event: signedout")
	if d := time.Since(revoked); d > 7*time.Second {
		t.Errorf("stream ended %s after the revocation", d)
	}
	r2 := c.do(t, ctx, "GET", "/alerts", authSession, nil)
	r2.Body.Close()
	if r2.StatusCode != http.StatusSeeOther {
		t.Errorf("page of a revoked operator's session: %d, want a redirect to sign in", r2.StatusCode)
	}

	// An open stream does not hold up the server's stop.
	other := signIn(t, srv, "otto", access.RoleReadonly)
	open := other.do(t, ctx, "GET", "/events", authSession, nil)
	defer open.Body.Close()
	begin := time.Now()
	stop()
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("the server took %s to stop with a console's stream open", d)
	}
}
