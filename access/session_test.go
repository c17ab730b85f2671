package access

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A session cookie authenticates like the token it was exchanged for; a
// state-changing request also needs the session's CSRF token; the session
// ends on sign-out, expiry, and at once when its operator is revoked.
func TestSessions(t *testing.T) {
	s := openStore(t)
	tok := mustCreate(t, s, "olga", RoleOperator)
	now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	auth := NewAuthenticator(s, slog.New(slog.NewTextHandler(&logs, nil))).AcceptSessions(s, func() time.Time { return now })
	h := auth.Require(PermAlertWrite, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := OperatorFrom(r.Context())
		fmt.Fprint(w, op.Name)
	}))
	id, op, exp, err := auth.SignIn(context.Background(), tok, time.Hour)
	if err != nil || op.Name != "olga" || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("sign in: %v %v %v", op, exp, err)
	}
	do := func(method, cookie, csrf string) int {
		r := httptest.NewRequest(method, "/x", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
		}
		if csrf != "" {
			r.Header.Set(CSRFHeader, csrf)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	other, _ := NewSessionID()
	for _, c := range []struct {
		name, method, cookie, csrf string
		want                       int
	}{
		{"GET with the session", "GET", id.Reveal(), "", 200},
		{"POST with its CSRF token", "POST", id.Reveal(), id.CSRF(), 200},
		{"POST without a CSRF token", "POST", id.Reveal(), "", 403},
		{"POST with another session's CSRF token", "POST", id.Reveal(), other.CSRF(), 403},
		{"DELETE without a CSRF token", "DELETE", id.Reveal(), "", 403},
		{"an unknown session", "GET", other.Reveal(), "", 401},
		{"a malformed cookie", "GET", "crms_nope", "", 401},
		{"no cookie", "GET", "", "", 401},
	} {
		if got := do(c.method, c.cookie, c.csrf); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	now = now.Add(time.Hour)
	if got := do("GET", id.Reveal(), ""); got != 401 {
		t.Errorf("expired session: %d, want 401", got)
	}
	now = now.Add(-time.Hour)
	r := httptest.NewRequest("POST", "/signout", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: id.Reveal()})
	if err := auth.SignOut(context.Background(), r); err != nil || do("GET", id.Reveal(), "") != 401 {
		t.Fatalf("signed-out session still works (%v)", err)
	}
	id2, _, _, err := auth.SignIn(context.Background(), tok, time.Hour)
	if err != nil || do("GET", id2.Reveal(), "") != 200 {
		t.Fatal(err)
	}
	if err := RevokeOperator(context.Background(), s, "olga", "test"); err != nil {
		t.Fatal(err)
	}
	if got := do("GET", id2.Reveal(), ""); got != 401 {
		t.Errorf("a revoked operator's session: %d, want 401", got)
	}
	if _, _, _, err := auth.SignIn(context.Background(), tok, time.Hour); err == nil {
		t.Error("a revoked operator's token signed in")
	}
	for _, secret := range []string{id.Reveal(), id2.Reveal(), tok.Reveal()} {
		if strings.Contains(logs.String(), secret) || strings.Contains(fmt.Sprintf("%v %s %+v %#v", id, id, id, id), secret) {
			t.Fatal("a session id or token was printed")
		}
	}
	if !strings.Contains(logs.String(), "CSRF") {
		t.Error("the refused CSRF request was not logged")
	}
}

// FuzzParseSessionID: any cookie value is refused or accepted without
// panicking, and an accepted one round-trips and never prints itself.
func FuzzParseSessionID(f *testing.F) {
	id, _ := NewSessionID()
	for _, s := range []string{id.Reveal(), "", "crms_", "crms_" + strings.Repeat("A", 43), "crmw_x", "crms_%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSessionID(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error repeats the cookie: %v", err)
			}
			return
		}
		if got.Reveal() != s || strings.Contains(got.String(), s) || len(got.CSRF()) != 43 {
			t.Fatalf("accepted %q: %s %s", s, got, got.CSRF())
		}
	})
}
