package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

// fixture is a real API over a real SQLite store with one operator per role.
type fixture struct {
	t      *testing.T
	store  *sqlstore.Store
	srv    *Server
	tokens map[access.Role]access.Token
	logs   *bytes.Buffer
}

func newFixture(t *testing.T, agents AgentLister) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, store: st, tokens: map[access.Role]access.Token{}, logs: &bytes.Buffer{}}
	for _, r := range access.Roles() {
		tok, err := access.CreateOperator(ctx, st, access.NewOperator{Name: "op-" + string(r), Role: r, By: "test"})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[r] = tok
	}
	f.srv, err = New(Options{Store: st, Agents: agents, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Registry: prometheus.NewRegistry(), Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) seed(id string, mod func(*alerts.Alert)) {
	f.t.Helper()
	a := alerts.Alert{ID: id, Rule: "crm.async.stopped", Severity: alerts.SeverityError, State: alerts.StateNew,
		RepeatCount: 3, FirstSeen: t0, LastSeen: t0.Add(time.Minute), Hosts: []string{"CRMAPP01"},
		Organizations: []string{"Contoso"}, Summary: "Async service stopped",
		Knowledge: alerts.Knowledge{Cause: "the service stopped", Resolution: "start MSCRMAsyncService"}}
	if mod != nil {
		mod(&a)
	}
	ev := event.Event{Time: t0, Host: "CRMAPP01", Source: "MSCRMAsyncService", EventID: 100, Level: event.LevelError, Message: "stopped"}
	if err := f.store.Send(context.Background(), []alerts.Change{{Kind: alerts.ChangeRaised, Alert: a, At: t0, By: a.Rule, Events: []event.Event{ev}}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) do(method, path string, role access.Role) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if tok, ok := f.tokens[role]; ok {
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
	return v
}

// TestEveryRouteIsGuarded walks the registered route list, so a route added
// later cannot escape: 401 without a token, 403 for a role that may not, 2xx
// for the least role that may.
func TestEveryRouteIsGuarded(t *testing.T) {
	f := newFixture(t, AgentListerFunc(func(context.Context) ([]AgentInfo, error) { return nil, nil }))
	least := map[access.Permission]access.Role{access.PermRead: access.RoleReadonly,
		access.PermAlertWrite: access.RoleOperator, access.PermTraceWrite: access.RoleOperator, access.PermAdmin: access.RoleAdmin}
	routes := f.srv.Routes()
	if len(routes) < 9 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for i, r := range routes {
		id := "route-" + string(rune('a'+i))
		f.seed(id, nil)
		path := strings.ReplaceAll(r.Pattern, "{id}", id)
		t.Run(r.Method+" "+r.Pattern, func(t *testing.T) {
			if r.Pattern == "/healthz" {
				if rec := f.do(r.Method, path, ""); rec.Code != 200 {
					t.Fatalf("healthz without token: %d", rec.Code)
				}
				return
			}
			rec := f.do(r.Method, path, "")
			if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || decode[ErrorResponse](t, rec).Error == "" {
				t.Fatalf("without token: %d %q %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
			want, ok := least[r.Permission]
			if !ok {
				t.Fatalf("route permission %q has no role in the test table", r.Permission)
			}
			for _, role := range access.Roles() {
				if role.Can(r.Permission) {
					continue
				}
				if rec := f.do(r.Method, path, role); rec.Code != 403 {
					t.Errorf("role %s: %d, want 403", role, rec.Code)
				}
			}
			if rec := f.do(r.Method, path, want); rec.Code/100 != 2 {
				t.Errorf("role %s: %d %s, want 2xx", want, rec.Code, rec.Body)
			}
		})
	}
	t.Run("unmatched", func(t *testing.T) {
		if rec := f.do("GET", "/admin/secret", ""); rec.Code != 401 {
			t.Fatalf("unknown path without token: %d", rec.Code)
		}
		if rec := f.do("DELETE", "/api/v1/alerts", access.RoleAdmin); rec.Code != 404 || !strings.Contains(decode[ErrorResponse](t, rec).Error, "no route DELETE") {
			t.Fatalf("unknown route: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestAlertListShape(t *testing.T) {
	f := newFixture(t, nil)
	f.seed("a1", nil)
	rec := f.do("GET", "/api/v1/alerts", access.RoleReadonly)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	raw := decode[map[string][]map[string]any](t, rec)
	if len(raw["alerts"]) != 1 {
		t.Fatalf("body %s", rec.Body)
	}
	got := raw["alerts"][0]
	want := map[string]any{
		"id": "a1", "rule": "crm.async.stopped", "severity": "error", "state": "new", "repeat_count": float64(3),
		"first_seen": "2026-11-03T09:30:00Z", "last_seen": "2026-11-03T09:31:00Z",
		"hosts": []any{"CRMAPP01"}, "organizations": []any{"Contoso"}, "summary": "Async service stopped",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alert\n got %v\nwant %v", got, want)
	}
}

func TestAlertDetailShape(t *testing.T) {
	f := newFixture(t, nil)
	f.seed("a1", func(a *alerts.Alert) { a.Key = "host=CRMAPP01" })
	rec := f.do("GET", "/api/v1/alerts/a1", access.RoleReadonly)
	raw := decode[map[string]any](t, rec)
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"alert", "event_count", "events", "history", "key", "knowledge"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	d := decode[AlertDetail](t, rec)
	if d.Alert.ID != "a1" || d.Knowledge.Resolution != "start MSCRMAsyncService" || d.EventCount != 1 ||
		len(d.Events) != 1 || d.Events[0].EventID != 100 || len(d.History) != 1 || d.History[0].Kind != alerts.ChangeRaised {
		t.Fatalf("detail %+v", d)
	}
	rec = f.do("GET", "/api/v1/alerts/missing", access.RoleReadonly)
	if e := decode[ErrorResponse](t, rec); rec.Code != 404 || !strings.Contains(e.Error, `alert "missing" not found`) {
		t.Fatalf("missing: %d %s", rec.Code, rec.Body)
	}
}

func TestAlertFilters(t *testing.T) {
	f := newFixture(t, nil)
	f.seed("w", func(a *alerts.Alert) { a.Severity, a.LastSeen = alerts.SeverityWarning, t0.Add(3*time.Minute) })
	f.seed("c", func(a *alerts.Alert) {
		a.Severity, a.Hosts, a.Rule, a.LastSeen = alerts.SeverityCritical, []string{"SQL01"}, "crm.sql.down", t0.Add(2*time.Minute)
	})
	f.seed("r", func(a *alerts.Alert) { a.State = alerts.StateResolved })
	cases := []struct {
		query string
		code  int
		ids   []string
		param string // named in the 400 error
	}{
		{"", 200, []string{"w", "c", "r"}, ""},
		{"?state=open", 200, []string{"w", "c"}, ""},
		{"?state=resolved,new", 200, []string{"w", "c", "r"}, ""},
		{"?severity=error", 200, []string{"c", "r"}, ""},
		{"?host=SQL01", 200, []string{"c"}, ""},
		{"?rule=crm.sql.down", 200, []string{"c"}, ""},
		{"?limit=1", 200, []string{"w"}, ""},
		{"?state=closed", 400, nil, "state"},
		{"?severity=fatal", 400, nil, "severity"},
		{"?limit=0", 400, nil, "limit"},
		{"?limit=x", 400, nil, "limit"},
		{"?stat=new", 400, nil, `"stat"`},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			rec := f.do("GET", "/api/v1/alerts"+tc.query, access.RoleReadonly)
			if rec.Code != tc.code {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if tc.code != 200 {
				if e := decode[ErrorResponse](t, rec); !strings.Contains(e.Error, tc.param) {
					t.Fatalf("error %q does not name %s", e.Error, tc.param)
				}
				return
			}
			var ids []string
			for _, a := range decode[AlertsResponse](t, rec).Alerts {
				ids = append(ids, a.ID)
			}
			if !reflect.DeepEqual(ids, tc.ids) {
				t.Fatalf("ids %v, want %v", ids, tc.ids)
			}
		})
	}
}

func TestAcknowledgeAndResolve(t *testing.T) {
	f := newFixture(t, nil)
	f.seed("a1", nil)
	if rec := f.do("POST", "/api/v1/alerts/a1/acknowledge", access.RoleReadonly); rec.Code != 403 {
		t.Fatalf("readonly ack: %d", rec.Code)
	}
	rec := f.do("POST", "/api/v1/alerts/a1/acknowledge", access.RoleOperator)
	d := decode[AlertDetail](t, rec)
	if rec.Code != 200 || d.Alert.State != alerts.StateAcknowledged {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body)
	}
	if last := d.History[len(d.History)-1]; last.Kind != alerts.ChangeAcknowledged || last.By != "op-operator" || !last.At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("history %+v", d.History)
	}
	if rec := f.do("POST", "/api/v1/alerts/a1/acknowledge", access.RoleOperator); rec.Code != 200 || len(decode[AlertDetail](t, rec).History) != 2 {
		t.Fatalf("second ack: %d %s", rec.Code, rec.Body)
	}
	rec = f.do("POST", "/api/v1/alerts/a1/resolve", access.RoleAdmin)
	if d := decode[AlertDetail](t, rec); rec.Code != 200 || d.Alert.State != alerts.StateResolved || d.ResolvedAt == nil {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("POST", "/api/v1/alerts/a1/resolve", access.RoleAdmin); rec.Code != 409 {
		t.Fatalf("resolve twice: %d", rec.Code)
	}
	if rec := f.do("POST", "/api/v1/alerts/nope/resolve", access.RoleAdmin); rec.Code != 404 {
		t.Fatalf("resolve missing: %d", rec.Code)
	}
	log := decode[AuditResponse](t, f.do("GET", "/api/v1/audit?limit=2", access.RoleAdmin)).Entries
	if len(log) != 2 || log[0].Action != ActionAlertResolve || log[0].Actor != "op-admin" ||
		log[1].Action != ActionAlertAcknowledge || log[1].Actor != "op-operator" || log[1].Target != "a1" {
		t.Fatalf("audit %+v", log)
	}
}

func TestAgents(t *testing.T) {
	hb := t0.Add(-5 * time.Second)
	f := newFixture(t, AgentListerFunc(func(context.Context) ([]AgentInfo, error) {
		return []AgentInfo{{Host: "CRMAPP01", Status: AgentUp, Roles: []string{"AppServer", "AsyncService"}, Version: "1.0.0", LastHeartbeat: hb,
			Collectors: []string{"tracefiles"}, Sources: []collectors.SourceStatus{{Collector: "tracefiles", Source: "trace directory", Path: "/t", Status: "ok"}}},
			{Host: "SQL01", Status: AgentSilent, Warnings: []string{"no roles"}}}, nil
	}))
	rec := f.do("GET", "/api/v1/agents", access.RoleReadonly)
	raw := decode[map[string][]map[string]any](t, rec)
	want := []map[string]any{
		{"host": "CRMAPP01", "status": "up", "roles": []any{"AppServer", "AsyncService"}, "version": "1.0.0", "last_heartbeat": "2026-11-03T09:29:55Z",
			"collectors": []any{"tracefiles"}, "warnings": []any{},
			"sources": []any{map[string]any{"collector": "tracefiles", "source": "trace directory", "path": "/t", "status": "ok"}}},
		{"host": "SQL01", "status": "silent", "roles": []any{}, "version": "", "last_heartbeat": "0001-01-01T00:00:00Z",
			"collectors": []any{}, "warnings": []any{"no roles"}, "sources": []any{}},
	}
	if !reflect.DeepEqual(raw["agents"], want) {
		t.Fatalf("agents\n got %v\nwant %v", raw["agents"], want)
	}
	if rec := newFixture(t, nil).do("GET", "/api/v1/agents", access.RoleReadonly); rec.Code != 503 {
		t.Fatalf("without lister: %d", rec.Code)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t, nil)
	f.do("GET", "/api/v1/alerts", access.RoleReadonly)
	f.do("GET", "/api/v1/alerts?limit=-1", access.RoleReadonly)
	f.do("GET", "/api/v1/alerts", "")
	body, _ := io.ReadAll(f.do("GET", "/metrics", access.RoleReadonly).Body)
	for _, want := range []string{
		`crmwatch_api_requests_total{code="200",route="GET /api/v1/alerts"} 1`,
		`crmwatch_api_requests_total{code="400",route="GET /api/v1/alerts"} 1`,
		`crmwatch_api_requests_total{code="401",route="GET /api/v1/alerts"} 1`,
		`crmwatch_api_request_duration_seconds_count{code="200",route="GET /api/v1/alerts"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAPINeverLeaksTokens(t *testing.T) {
	f := newFixture(t, nil)
	var bodies []string
	for _, r := range f.srv.Routes() {
		for _, role := range append(access.Roles(), "") {
			bodies = append(bodies, f.do(r.Method, strings.ReplaceAll(r.Pattern, "{id}", "x"), role).Body.String())
		}
	}
	f.store.Close() // store errors now
	bodies = append(bodies, f.do("GET", "/api/v1/alerts", access.RoleAdmin).Body.String(), f.logs.String())
	for _, tok := range f.tokens {
		for _, b := range bodies {
			if strings.Contains(b, tok.Reveal()) {
				t.Fatalf("token leaked: %s", b)
			}
		}
	}
	if !strings.Contains(f.logs.String(), "authentication unavailable") {
		t.Fatal("store failure was not logged")
	}
}

func TestParseAlertFilterReportsEveryProblem(t *testing.T) {
	_, err := ParseAlertFilter(map[string][]string{"limit": {"0"}, "severity": {"x"}, "nope": {"1"}})
	for _, want := range []string{"limit", "severity", `"nope"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
	f, err := ParseAlertFilter(nil)
	if err != nil || f.Limit != DefaultAlertLimit || !reflect.DeepEqual(f, store.AlertFilter{Limit: DefaultAlertLimit}) {
		t.Fatalf("defaults %+v %v", f, err)
	}
}

func FuzzParseAlertFilter(f *testing.F) {
	for _, s := range []string{"state=open&limit=5", "severity=CRITICAL", "state=,", "limit=99999999999999999999", "host=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseAlertFilter(q)
		if err == nil && (flt.Limit < 1 || flt.Limit > MaxAlertLimit) {
			t.Fatalf("accepted limit %d", flt.Limit)
		}
	})
}

func BenchmarkListAlerts(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tok, err := access.CreateOperator(ctx, st, access.NewOperator{Name: "b", Role: access.RoleReadonly})
	if err != nil {
		b.Fatal(err)
	}
	var cs []alerts.Change
	for i := range 200 {
		a := alerts.Alert{ID: string(rune('A'+i%26)) + strings.Repeat("x", i/26), Rule: "r", Severity: alerts.SeverityError,
			State: alerts.StateNew, LastSeen: t0.Add(time.Duration(i) * time.Second), Hosts: []string{"H"}}
		cs = append(cs, alerts.Change{Kind: alerts.ChangeRaised, Alert: a, At: t0})
	}
	if err := st.Send(ctx, cs); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/v1/alerts?state=open&limit=100", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
