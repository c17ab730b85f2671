package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/store/sqlstore"
)

type fixture struct {
	srv    *httptest.Server
	tokens map[access.Role]access.Token
	client *http.Client
}

func newFixture(t *testing.T, tls bool) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{tokens: map[access.Role]access.Token{}}
	for _, r := range access.Roles() {
		if f.tokens[r], err = access.CreateOperator(ctx, st, access.NewOperator{Name: "op-" + string(r), Role: r, By: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	auth := access.NewAuthenticator(st, log).AcceptSessions(st, nil)
	a, err := api.New(api.Options{Store: st, Auth: auth, Logger: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{API: a, APIRoutes: a.Routes(), Auth: auth, Logger: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if tls {
		f.srv = httptest.NewTLSServer(c)
	} else {
		f.srv = httptest.NewServer(c)
	}
	t.Cleanup(f.srv.Close)
	f.client = f.srv.Client()
	f.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return f
}

func (f *fixture) signIn(t *testing.T, tok, next string) *http.Response {
	t.Helper()
	resp, err := f.client.PostForm(f.srv.URL+"/signin", url.Values{"token": {tok}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) get(t *testing.T, path string, c *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == access.SessionCookie {
			return c
		}
	}
	return nil
}

// Over TLS the cookie is Secure and HSTS is sent; a sign-in returns to the
// page asked for, never to another site; sign-out ends the session.
func TestSignInOverTLSAndSignOut(t *testing.T) {
	f := newFixture(t, true)
	resp := f.signIn(t, f.tokens[access.RoleOperator].Reveal(), "/agents")
	c := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/agents" || c == nil {
		t.Fatalf("sign-in: %d → %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie over TLS: %+v, want Secure, HttpOnly, SameSite=Strict", c)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	page, html := f.get(t, "/agents", c)
	if page.StatusCode != 200 || !strings.Contains(html, "op-operator") {
		t.Fatalf("agents page: %d", page.StatusCode)
	}
	id, _ := access.ParseSessionID(c.Value)
	if !strings.Contains(html, `<meta name="csrf-token" content="`+id.CSRF()+`">`) {
		t.Error("the page does not carry the session's CSRF token")
	}
	form := url.Values{access.CSRFField: {id.CSRF()}}
	req, _ := http.NewRequest("POST", f.srv.URL+"/signout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(c)
	out, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.StatusCode != http.StatusSeeOther || out.Header.Get("Location") != "/signin" || sessionCookie(out) == nil || sessionCookie(out).MaxAge >= 0 {
		t.Fatalf("sign-out: %d → %q", out.StatusCode, out.Header.Get("Location"))
	}
	if again, _ := f.get(t, "/agents", c); again.StatusCode != http.StatusSeeOther {
		t.Errorf("page after sign-out: %d, want a redirect", again.StatusCode)
	}
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"} {
		if loc := f.signIn(t, f.tokens[access.RoleOperator].Reveal(), next).Header.Get("Location"); loc != "/alerts" {
			t.Errorf("next=%q sent the browser to %q", next, loc)
		}
	}
}

// Plain HTTP: the cookie is not Secure (it could never be sent back).
// Mistakes on the sign-in page say what is wrong and what to do.
func TestSignInMistakes(t *testing.T) {
	f := newFixture(t, false)
	if c := sessionCookie(f.signIn(t, f.tokens[access.RoleReadonly].Reveal(), "")); c == nil || c.Secure {
		t.Errorf("cookie over plain HTTP: %+v", c)
	}
	unknown, _ := access.GenerateToken()
	for _, tc := range []struct {
		token string
		code  int
		want  string
	}{
		{"", 400, "paste the whole token"},
		{"hunter2", 400, "does not start with"},
		{unknown.Reveal(), 401, "belongs to no active operator"},
	} {
		resp := f.signIn(t, tc.token, "/alerts")
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) || sessionCookie(resp) != nil {
			t.Errorf("token %q: %d, want %d with %q", tc.token, resp.StatusCode, tc.code, tc.want)
		}
		if tc.token != "" && strings.Contains(string(b), tc.token) {
			t.Errorf("the sign-in page repeats the token %q", tc.token)
		}
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:|<style`)

// No page carries inline script or style (the CSP would block it anyway);
// a readonly operator's pages show no action controls and no admin links.
func TestPagesHaveNoInlineCodeAndFollowTheRole(t *testing.T) {
	f := newFixture(t, false)
	cookies := map[access.Role]*http.Cookie{}
	for r, tok := range f.tokens {
		cookies[r] = sessionCookie(f.signIn(t, tok.Reveal(), "/alerts"))
	}
	paths := []string{"/alerts", "/alerts/x", "/agents", "/maintenance", "/trace", "/audit", "/operators", "/dashboards", "/dashboards/x", "/nope"}
	for _, p := range paths {
		resp, html := f.get(t, p, cookies[access.RoleAdmin])
		if inlineScript.MatchString(html) {
			t.Errorf("%s has inline code: %q", p, inlineScript.FindString(html))
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: CSP %q", p, resp.Header.Get("Content-Security-Policy"))
		}
	}
	if _, html := f.get(t, "/signin", nil); inlineScript.MatchString(html) {
		t.Error("the sign-in page has inline code")
	}
	_, ro := f.get(t, "/alerts/x", cookies[access.RoleReadonly])
	_, op := f.get(t, "/alerts/x", cookies[access.RoleOperator])
	for _, id := range []string{`id="ack"`, `id="resolve"`, `id="silence"`, `id="assign"`} {
		if strings.Contains(ro, id) || !strings.Contains(op, id) {
			t.Errorf("%s: shown to readonly %v, to operator %v", id, strings.Contains(ro, id), strings.Contains(op, id))
		}
	}
	_, roList := f.get(t, "/alerts", cookies[access.RoleReadonly])
	_, opList := f.get(t, "/alerts", cookies[access.RoleOperator])
	for _, id := range []string{`id="bulk"`, `id="bulk-ack"`, `id="bulk-resolve"`, `id="select-page"`} {
		if strings.Contains(roList, id) || !strings.Contains(opList, id) {
			t.Errorf("%s on the list: shown to readonly %v, to operator %v", id, strings.Contains(roList, id), strings.Contains(opList, id))
		}
	}
	if strings.Contains(ro, `href="/audit"`) || strings.Contains(op, `href="/audit"`) {
		t.Error("non-admins see the audit link")
	}
	if resp, _ := f.get(t, "/audit", cookies[access.RoleOperator]); resp.StatusCode != 403 {
		t.Errorf("audit page for an operator: %d", resp.StatusCode)
	}
	resp, js := f.get(t, "/static/app.js", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || strings.Contains(js, "innerHTML") {
		t.Errorf("app.js: %d %s (and it must not use innerHTML)", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, js = f.get(t, "/static/dashboards.js", nil)
	if resp.StatusCode != 200 || strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") || strings.Contains(js, ".style") {
		t.Errorf("dashboards.js: %d (it must not parse markup nor set inline style)", resp.StatusCode)
	}
	if _, html := f.get(t, "/dashboards/x", cookies[access.RoleReadonly]); !strings.Contains(html, `src="/static/dashboards.js"`) || !strings.Contains(html, `data-id="x"`) {
		t.Error("the dashboard page does not load its script with the dashboard's id")
	}
	if resp, _ := f.get(t, "/static/../console.go", nil); resp.StatusCode == 200 {
		t.Error("static serves outside its folder")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/alerts/x?y=1": "/alerts/x?y=1", "": "/alerts", "//x": "/alerts",
		"/signin": "/alerts", "http://x": "/alerts", "/a\r\nSet-Cookie: x": "/alerts"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext: whatever a sign-in form carries, the redirect stays on
// this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/alerts", "//evil", "/\\evil", "https://x", "/a?b=c", "", "/signin?next=//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the site", s, got)
		}
	})
}

// An admin revokes an operator from the console (the API route with the
// session and its CSRF token): that operator's open session ends at once,
// on pages and on the API. A non-admin's session is refused the route.
func TestRevokingFromTheConsoleEndsSessions(t *testing.T) {
	f := newFixture(t, false)
	admin := sessionCookie(f.signIn(t, f.tokens[access.RoleAdmin].Reveal(), "/operators"))
	victim := sessionCookie(f.signIn(t, f.tokens[access.RoleOperator].Reveal(), "/alerts"))
	post := func(c *http.Cookie, path string) int {
		t.Helper()
		id, _ := access.ParseSessionID(c.Value)
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(access.CSRFHeader, id.CSRF())
		req.AddCookie(c)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(victim, "/api/v1/operators/op-readonly/revoke"); code != http.StatusForbidden {
		t.Errorf("an operator's session revoking: %d, want 403", code)
	}
	if resp, _ := f.get(t, "/alerts", victim); resp.StatusCode != 200 {
		t.Fatalf("before the revocation: %d", resp.StatusCode)
	}
	if code := post(admin, "/api/v1/operators/op-operator/revoke"); code != 200 {
		t.Fatalf("revoke from the admin's session: %d", code)
	}
	if resp, _ := f.get(t, "/alerts", victim); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("page of the revoked operator's session: %d → %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := f.get(t, "/api/v1/alerts", victim); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the revoked operator's session: %d, want 401", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/operators", admin); resp.StatusCode != 200 {
		t.Errorf("the admin's own session after revoking someone: %d", resp.StatusCode)
	}
}
