package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"crmwatch/access"
	"crmwatch/store"
)

// An admin adds, rotates and revokes operators through the API as the CLI
// does on the store: the token is shown once and works at once, the old
// one stops at once, every change is audited under the admin's name, and
// mistakes say what is wrong.
func TestOperatorsAPI(t *testing.T) {
	f := newFixture(t, nil)
	bearer := func(tok, method, path string) int {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec.Code
	}
	rec := f.doBody("POST", OperatorsPath, access.RoleAdmin, `{"name":"nina","role":"operator"}`)
	added := decode[OperatorTokenResponse](t, rec)
	if rec.Code != 201 || added.Name != "nina" || added.Role != "operator" || !strings.HasPrefix(added.Token, "crmw_") {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	if code := bearer(added.Token, "GET", "/api/v1/alerts"); code != 200 {
		t.Fatalf("the new token: %d", code)
	}
	for body, want := range map[string]string{
		`{"name":"nina","role":"readonly"}`:  "exists and is active",
		`{"name":"-x","role":"customer"}`:    "operator name \"-x\"",
		`{"name":"ok","role":"customer"}`:    "unknown role \"customer\"",
		`{"name":"ok","role":"admin","x":1}`: "unknown field",
		`{"name":"","role":"readonly"}`:      "want 1-64 letters",
	} {
		rec := f.doBody("POST", OperatorsPath, access.RoleAdmin, body)
		if rec.Code/100 != 4 || !strings.Contains(decode[ErrorResponse](t, rec).Error, want) {
			t.Errorf("add %s: %d %s, want %q", body, rec.Code, rec.Body, want)
		}
	}
	if rec := f.doBody("POST", OperatorsPath, access.RoleAdmin, `{"name":"-x","role":"customer"}`); !strings.Contains(rec.Body.String(), "unknown role") {
		t.Errorf("add with two mistakes names only one: %s", rec.Body)
	}

	rec = f.do("POST", "/api/v1/operators/nina/rotate", access.RoleAdmin)
	rotated := decode[OperatorTokenResponse](t, rec)
	if rec.Code != 200 || rotated.Token == added.Token || bearer(rotated.Token, "GET", "/api/v1/alerts") != 200 || bearer(added.Token, "GET", "/api/v1/alerts") != 401 {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("POST", "/api/v1/operators/nina/revoke", access.RoleAdmin); rec.Code != 200 || !decode[OperatorRevokeResponse](t, rec).Revoked {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if code := bearer(rotated.Token, "GET", "/api/v1/alerts"); code != 401 {
		t.Errorf("a revoked operator's token: %d, want 401", code)
	}
	for path, want := range map[string]struct {
		code int
		msg  string
	}{
		"/api/v1/operators/nina/revoke":     {409, "already revoked"},
		"/api/v1/operators/nina/rotate":     {409, "already revoked"},
		"/api/v1/operators/nobody/revoke":   {404, "no operator \"nobody\""},
		"/api/v1/operators/op-admin/revoke": {409, "is you"},
	} {
		rec := f.do("POST", path, access.RoleAdmin)
		if rec.Code != want.code || !strings.Contains(decode[ErrorResponse](t, rec).Error, want.msg) {
			t.Errorf("%s: %d %s, want %d %q", path, rec.Code, rec.Body, want.code, want.msg)
		}
	}
	// A revoked name can be used again, as with the CLI.
	if rec := f.doBody("POST", OperatorsPath, access.RoleAdmin, `{"name":"nina","role":"readonly"}`); rec.Code != 201 {
		t.Errorf("adding a revoked name again: %d %s", rec.Code, rec.Body)
	}

	entries, err := f.store.AuditLog(context.Background(), store.AuditFilter{Actor: "op-admin", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Target)
		if strings.Contains(e.Detail, added.Token) || strings.Contains(e.Detail, rotated.Token) {
			t.Errorf("audit entry carries a token: %+v", e)
		}
	}
	for _, want := range []string{"operator.add nina", "operator.rotate nina", "operator.revoke nina"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("audit by op-admin %q misses %q", got, want)
		}
	}
	for _, tok := range []string{added.Token, rotated.Token} {
		if strings.Contains(f.logs.String(), tok) {
			t.Errorf("the log carries a token")
		}
	}
}
