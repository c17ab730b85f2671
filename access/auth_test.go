package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "crmwatch.db"),
		sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t *testing.T, s store.Store, name string, role Role) Token {
	t.Helper()
	tok, err := CreateOperator(context.Background(), s, NewOperator{Name: name, Role: role, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lookupFunc adapts a function to TokenLookup, to feed the middleware a row
// the store's schema would refuse.
type lookupFunc func(ctx context.Context, h []byte) (store.Operator, error)

func (f lookupFunc) OperatorByTokenHash(ctx context.Context, h []byte) (store.Operator, error) {
	return f(ctx, h)
}

func TestRequire(t *testing.T) {
	s := openStore(t)
	admin := mustCreate(t, s, "alice", RoleAdmin)
	ro := mustCreate(t, s, "rita", RoleReadonly)
	gone := mustCreate(t, s, "gone", RoleOperator)
	if err := RevokeOperator(context.Background(), s, "gone", "alice"); err != nil {
		t.Fatal(err)
	}
	unknown, _ := GenerateToken()
	var logs bytes.Buffer
	auth := NewAuthenticator(s, slog.New(slog.NewTextHandler(&logs, nil)))
	var seen Operator
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = OperatorFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	cases := []struct {
		name, header string
		perm         Permission
		code         int
		who          string
	}{
		{"no header", "", PermRead, 401, ""},
		{"basic auth", "Basic YWxpY2U6eA==", PermRead, 401, ""},
		{"malformed", "Bearer not-a-token", PermRead, 401, ""},
		{"unknown token", "Bearer " + unknown.Reveal(), PermRead, 401, ""},
		{"revoked", "Bearer " + gone.Reveal(), PermRead, 401, ""},
		{"readonly reads", "Bearer " + ro.Reveal(), PermRead, 204, "rita"},
		{"readonly may not ack", "Bearer " + ro.Reveal(), PermAlertWrite, 403, ""},
		{"readonly may not admin", "Bearer " + ro.Reveal(), PermAdmin, 403, ""},
		{"admin admins", "bearer " + admin.Reveal(), PermAdmin, 204, "alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = Operator{}
			req := httptest.NewRequest("GET", "/api/v1/alerts", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			auth.Require(tc.perm, ok).ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if seen.Name != tc.who {
				t.Fatalf("operator in context %q, want %q", seen.Name, tc.who)
			}
			if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if tc.code >= 400 {
				var body struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
					t.Fatalf("error body %q: %v", rec.Body, err)
				}
			}
		})
	}
	for _, tok := range []Token{admin, ro, gone, unknown} {
		if strings.Contains(logs.String(), tok.Reveal()) {
			t.Fatalf("token leaked into logs: %s", logs.String())
		}
	}
}

// TestNoOtherRoleGetsIn feeds the middleware operators whose stored role is
// not one of the three (as a hand-edited database could): they get nothing.
func TestNoOtherRoleGetsIn(t *testing.T) {
	tok, _ := GenerateToken()
	for _, role := range []string{"customer", "tenant", "organization", "viewer", "", "Admin "} {
		auth := NewAuthenticator(lookupFunc(func(context.Context, []byte) (store.Operator, error) {
			return store.Operator{Name: "x", Role: role}, nil
		}), slog.New(slog.DiscardHandler))
		for _, p := range []Permission{PermRead, PermAlertWrite, PermTraceWrite, PermAdmin} {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok.Reveal())
			rec := httptest.NewRecorder()
			auth.Require(p, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Fatalf("role %q reached the handler for %s", role, p)
			})).ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("role %q, %s: code %d, want 403", role, p, rec.Code)
			}
		}
	}
}

// TestTokensNeverLeak drives every failure path that could mention a token —
// auth failures, a broken store, operator creation errors — with slog writing
// to a buffer, and asserts the token text appears nowhere.
func TestTokensNeverLeak(t *testing.T) {
	s := openStore(t)
	tok := mustCreate(t, s, "alice", RoleReadonly)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth := NewAuthenticator(s, logger)
	var texts []string
	do := func(header string, p Permission) {
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		auth.Require(p, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, req)
		texts = append(texts, rec.Body.String())
		_, err := auth.Authenticate(context.Background(), header)
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	do("Bearer "+tok.Reveal(), PermAdmin)                               // forbidden
	do("Bearer "+tok.Reveal()+"x", PermRead)                            // malformed
	do("Token "+tok.Reveal(), PermRead)                                 // wrong scheme
	do("Bearer "+strings.Replace(tok.Reveal(), "_", "_A", 1), PermRead) // unknown
	if err := s.Close(); err != nil {                                   // store errors
		t.Fatal(err)
	}
	do("Bearer "+tok.Reveal(), PermRead)
	if _, err := CreateOperator(context.Background(), s, NewOperator{Name: "bob", Role: RoleAdmin}); err != nil {
		texts = append(texts, err.Error())
	}
	texts = append(texts, logs.String())
	secret := tok.Reveal()[len(TokenPrefix):]
	for _, txt := range texts {
		if strings.Contains(txt, secret) {
			t.Fatalf("token leaked: %s", txt)
		}
	}
	if !strings.Contains(logs.String(), "authentication unavailable") {
		t.Fatalf("store failure not logged: %s", logs.String())
	}
}

func TestCreateAndRevokeOperatorAudit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	tok := mustCreate(t, s, "alice", RoleOperator)
	op, err := NewAuthenticator(s, slog.New(slog.DiscardHandler)).Authenticate(ctx, "Bearer "+tok.Reveal())
	if err != nil || op != (Operator{Name: "alice", Role: RoleOperator}) {
		t.Fatalf("new token authenticates as %+v, %v", op, err)
	}
	if _, err := CreateOperator(ctx, s, NewOperator{Name: "alice", Role: RoleAdmin, By: "t"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []NewOperator{{Name: "", Role: RoleAdmin}, {Name: "a b", Role: RoleAdmin}, {Name: "cust", Role: "customer"}} {
		if _, err := CreateOperator(ctx, s, bad); err == nil {
			t.Errorf("CreateOperator(%+v) accepted", bad)
		}
	}
	if err := RevokeOperator(ctx, s, "alice", "root"); err != nil {
		t.Fatal(err)
	}
	if err := RevokeOperator(ctx, s, "nobody", "root"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	log, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(log) != 2 {
		t.Fatalf("audit log %+v, %v", log, err)
	}
	if log[0].Action != ActionOperatorRevoke || log[0].Actor != "root" || log[0].Target != "alice" ||
		log[1].Action != ActionOperatorAdd || log[1].Actor != "test" || log[1].Detail != "role=operator token="+tok.Fingerprint() {
		t.Fatalf("audit entries %+v", log)
	}
}
