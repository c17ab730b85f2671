package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/notify"
	"crmwatch/notify/alertmanager"
	notifyconfig "crmwatch/notify/config"
	"crmwatch/notify/email"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
)

// TestNoPathLeaksToNonOperators tries every path by which a non-operator
// could see what operators see and asserts each is refused or clean
// (issue 16 point 5):
//
//   - the dashboards API (list, one dashboard, a panel's series), the
//     console's dashboard pages and the capacity report (json, csv, html)
//     without a session or token, with a made-up token, with a revoked
//     operator's token and with the session that operator signed in with
//     before being revoked: 401 for the API, the sign-in page for pages,
//     and no dashboard, host or report content in any answer;
//   - scheduled report files: written only for the owner and group
//     (0640, folder 0750);
//   - notifications: the payload a receiver gets (webhook body, and the
//     same notification rendered as e-mail and for Alertmanager) carries no
//     operator token, session, CSRF token or signing key, and its console
//     link is a plain address that grants nothing: followed without a
//     session, or with the revoked one, it leads to the sign-in page.
//
// Operators are the only principals: access.Roles is the three operator
// roles (TestEveryRouteNeedsAnOperator; access's TestNoCustomerPrincipal
// scans the whole model).
func TestNoPathLeaksToNonOperators(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	hook := newRawHook(t)
	const key = "hook-signing-key-7731"
	var n notifyconfig.Section
	n.Receivers = []notifyconfig.Receiver{{Name: "noc", Webhook: &webhook.Config{URL: secret.MustURL(hook.URL), Secret: secret.New(key)}}}
	n.ConsoleURL = "http://" + addr + "/"
	reports := filepath.Join(t.TempDir(), "reports")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: addr, NATSListen: "127.0.0.1:0", NATSSyncInterval: time.Second,
		TickEvery: 50 * time.Millisecond, PackDirs: []string{seqPackDir(t)}, Notify: n, Logger: testLogger(t),
		CapacityReports: CapacityReports{Dir: reports, Every: 300 * time.Millisecond, Formats: []string{"html", "json", "csv"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stop() }()
	base := "http://" + srv.HTTPAddr()

	leaver := signIn(t, srv, "leaver", access.RoleReadonly)
	if err := access.RevokeOperator(ctx, srv.Store(), "leaver", "test"); err != nil {
		t.Fatal(err)
	}
	made, _ := access.GenerateToken()
	type who struct {
		name   string
		token  string
		cookie *http.Cookie
	}
	whos := []who{{name: "nobody"}, {name: "a made-up token", token: made.Reveal()},
		{name: "a revoked operator's token", token: leaver.token.Reveal()}, {name: "a revoked operator's session", cookie: leaver.cookie}}
	fetch := func(w who, path string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if w.token != "" {
			req.Header.Set("Authorization", "Bearer "+w.token)
		}
		if w.cookie != nil {
			req.AddCookie(w.cookie)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	// What operators would see: a dashboard's and a panel's content, a
	// report's columns.
	content := []string{"crm-server", "Processor time", "processor time", "crmwatch_perfcounter_value", "CRMAPP01", "headroom", "organization"}
	apiPaths := []string{"/api/v1/dashboards", "/api/v1/dashboards/crm-server", "/api/v1/dashboards/crm-server/panels/processor-time/series?from=24h",
		CapacityReportPath, CapacityReportPath + "?format=csv", CapacityReportPath + "?format=html"}
	pages := []string{"/dashboards", "/dashboards/crm-server"}
	for _, w := range whos {
		for _, p := range apiPaths {
			resp, body := fetch(w, p)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s by %s: %d, want 401", p, w.name, resp.StatusCode)
			}
			for _, c := range content {
				if strings.Contains(body, c) {
					t.Errorf("GET %s by %s answers %q", p, w.name, c)
				}
			}
		}
		for _, p := range pages {
			resp, body := fetch(w, p)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=") {
				t.Errorf("GET %s by %s: %d → %q, want the sign-in page", p, w.name, resp.StatusCode, loc)
			}
			if strings.Contains(body, "dashboards.js") || strings.Contains(body, "csrf-token") {
				t.Errorf("GET %s by %s serves the page", p, w.name)
			}
		}
	}
	// The same paths answer an operator (so the refusals above are not a
	// broken route).
	op := operatorToken(t, srv, "olga", access.RoleReadonly)
	for _, p := range apiPaths {
		if resp, _ := fetch(who{token: op}, p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s by an operator: %d", p, resp.StatusCode)
		}
	}

	// Report files are for the server's owner and group only.
	var files []string
	for deadline := time.Now().Add(60 * time.Second); len(files) < 3; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled report files in %s: %v", reports, files)
		}
		files, _ = filepath.Glob(filepath.Join(reports, "capacity-*.[hjc]*[lnv]"))
	}
	if fi, err := os.Stat(reports); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("report folder mode %v (err %v): others may read it", fi.Mode(), err)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s mode %v (err %v): others may read it", f, fi.Mode(), err)
		}
	}

	// A notification carries the alert and a plain link, nothing that
	// grants access.
	pub := publisherTo(t, srv.NATSURL().Reveal())
	if err := pub.Emit(ctx, seqBatch("CRMAPP01", "fp-leak", 0, 1)); err != nil {
		t.Fatal(err)
	}
	body := hook.first(t, 60*time.Second)
	var b webhook.Body
	if err := json.Unmarshal(body, &b); err != nil || len(b.Notifications) == 0 {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	nt := b.Notifications[0]
	am, _ := json.Marshal(alertmanager.Alerts([]notify.Notification{nt}, time.Now(), time.Hour))
	mail, err := email.Message("crmwatch@example.org", []string{"noc@example.org"}, nt, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"an operator token": op, "the revoked token": leaver.token.Reveal(), "a session id": leaver.cookie.Value,
		"a CSRF token": leaver.csrf, "the signing key": key, "a token prefix": "crmw_"}
	for payload, text := range map[string]string{"webhook": string(body), "alertmanager": string(am), "e-mail": string(mail)} {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s payload carries %s", payload, what)
			}
		}
		for _, grant := range []string{"token", "session", "csrf", "grant", "permission", "password"} {
			if strings.Contains(strings.ToLower(text), grant) {
				t.Errorf("the %s payload mentions %q", payload, grant)
			}
		}
	}
	link, err := url.Parse(nt.ConsoleURL)
	if err != nil || link.String() != n.ConsoleURL+"alerts/"+nt.Alert.ID || link.RawQuery != "" || link.Fragment != "" || link.User != nil {
		t.Fatalf("console link %q: want the plain address of the alert", nt.ConsoleURL)
	}
	t.Logf("%d report files; the notification links to %s", len(files), link)
	for _, w := range whos {
		resp, _ := fetch(w, link.Path)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=") {
			t.Errorf("the notification's link followed by %s: %d → %q, want the sign-in page", w.name, resp.StatusCode, loc)
		}
	}
}

// rawHook keeps the bodies a webhook receiver posts.
type rawHook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRawHook(t *testing.T) *rawHook {
	h := &rawHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *rawHook) first(t *testing.T, within time.Duration) []byte {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		if len(h.bodies) > 0 {
			b := h.bodies[0]
			h.mu.Unlock()
			return b
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no notification within %s", within)
		}
	}
}
