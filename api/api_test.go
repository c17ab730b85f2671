package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"crmwatch/alerts/suppress"
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
	resolved := a.State == alerts.StateResolved
	if _, err := f.store.Commit(context.Background(), store.Commit{Changes: []alerts.Change{{Kind: alerts.ChangeRaised, Alert: a, At: t0, By: a.Rule, Events: []event.Event{ev}, EventCount: 1}}}); err != nil {
		f.t.Fatal(err)
	}
	if resolved {
		if _, err := f.store.Act(context.Background(), id, alerts.Action{Kind: alerts.ChangeResolved, By: "seed", At: t0}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) do(method, path string, role access.Role) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.doBody(method, path, role, "")
}

func (f *fixture) doBody(method, path string, role access.Role, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
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
	if len(routes) < 18 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	// A valid body for the routes that need one, so the least role gets 2xx.
	bodies := map[string]string{
		"POST /api/v1/alerts/{id}/comment": `{"comment":"looking"}`,
		"POST /api/v1/alerts/{id}/assign":  `{"assignee":"op-operator"}`,
		"POST /api/v1/alerts/actions":      `{"action":"comment","ids":["route-x"],"comment":"c"}`,
		"POST /api/v1/maintenance":         `{"hosts":["CRMAPP01"],"start":"2026-11-03T09:00:00Z","end":"2026-11-03T12:00:00Z"}`,
		"POST /api/v1/silences":            `{"matchers":["host=CRMAPP01"],"duration":"1h","comment":"c"}`,
		"POST /api/v1/operators":           `{"name":"route-new","role":"readonly"}`,
	}
	f.seed("route-x", nil)
	for i, r := range routes {
		id := "route-" + string(rune('a'+i))
		f.seed(id, nil)
		switch r.Pattern {
		case "/api/v1/maintenance/{id}":
			f.store.AddWindow(context.Background(), suppress.Window{ID: id, Hosts: []string{"H"}, Start: t0, End: t0.Add(2 * time.Hour)})
		case "/api/v1/silences/{id}/expire":
			f.store.AddSilence(context.Background(), suppress.Silence{ID: id, Start: t0, End: t0.Add(2 * time.Hour), Comment: "c"})
		case OperatorRevokePath, OperatorRotatePath:
			if _, err := access.CreateOperator(context.Background(), f.store, access.NewOperator{Name: id, Role: access.RoleReadonly, By: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		path := strings.NewReplacer("{id}", id, "{name}", id).Replace(r.Pattern)
		body := bodies[r.Method+" "+r.Pattern]
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
				if rec := f.doBody(r.Method, path, role, body); rec.Code != 403 {
					t.Errorf("role %s: %d, want 403", role, rec.Code)
				}
			}
			if rec := f.doBody(r.Method, path, want, body); rec.Code/100 != 2 {
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
	raw := decode[map[string]any](t, rec)
	list, _ := raw["alerts"].([]any)
	if len(list) != 1 || raw["total"] != float64(1) {
		t.Fatalf("body %s", rec.Body)
	}
	got := list[0]
	want := map[string]any{
		"id": "a1", "rule": "crm.async.stopped", "severity": "error", "state": "new", "repeat_count": float64(3),
		"event_count": float64(1), "first_seen": "2026-11-03T09:30:00Z", "last_seen": "2026-11-03T09:31:00Z",
		"hosts": []any{"CRMAPP01"}, "organizations": []any{"Contoso"}, "summary": "Async service stopped", "version": float64(1),
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
	if want := []string{"alert", "events", "history", "key", "knowledge", "notifications"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	d := decode[AlertDetail](t, rec)
	if d.Alert.ID != "a1" || d.Knowledge.Resolution != "start MSCRMAsyncService" || d.Alert.EventCount != 1 ||
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
		{"?host=%ZZ", 400, nil, "percent-encoding"},
		{"?host=" + strings.Repeat("x", MaxParamBytes+1), 400, nil, "parameter host"},
		{"?rule=a&" + strings.Repeat("x=1&", MaxQueryBytes/4), 400, nil, "query is"},
		{"?offset=2", 200, []string{"r"}, ""},
		{"?org=Contoso&top=true", 200, []string{"w", "c", "r"}, ""},
		{"?top=maybe", 400, nil, "top"},
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
	rec := f.doBody("POST", "/api/v1/alerts/a1/acknowledge", access.RoleOperator, `{"comment":"on it"}`)
	d := decode[AlertDetail](t, rec)
	if rec.Code != 200 || d.Alert.State != alerts.StateAcknowledged {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body)
	}
	if last := d.History[len(d.History)-1]; last.Kind != alerts.ChangeAcknowledged || last.By != "op-operator" || last.Note != "on it" || !last.At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("history %+v", d.History)
	}
	// A second acknowledgement is refused with the current state; nothing
	// is recorded twice.
	rec = f.do("POST", "/api/v1/alerts/a1/acknowledge", access.RoleOperator)
	conflict := decode[ConflictResponse](t, rec)
	if rec.Code != 409 || conflict.Alert.State != alerts.StateAcknowledged || !strings.Contains(conflict.Error, "acknowledged") {
		t.Fatalf("second ack: %d %s", rec.Code, rec.Body)
	}
	// Acting on a version the operator did not see is refused.
	if rec := f.doBody("POST", "/api/v1/alerts/a1/resolve", access.RoleAdmin, `{"version":1}`); rec.Code != 409 {
		t.Fatalf("stale version: %d %s", rec.Code, rec.Body)
	}
	rec = f.doBody("POST", "/api/v1/alerts/a1/resolve", access.RoleAdmin, `{"comment":"restarted the service","version":2}`)
	if d := decode[AlertDetail](t, rec); rec.Code != 200 || d.Alert.State != alerts.StateResolved || d.ResolvedAt == nil {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("POST", "/api/v1/alerts/a1/resolve", access.RoleAdmin); rec.Code != 409 {
		t.Fatalf("resolve twice: %d", rec.Code)
	}
	if rec := f.do("POST", "/api/v1/alerts/nope/resolve", access.RoleAdmin); rec.Code != 404 {
		t.Fatalf("resolve missing: %d", rec.Code)
	}
	for _, body := range []string{`{"comment": 5}`, `{"bogus": 1}`, `{"comment":"a"} {"comment":"b"}`, `{"comment":"` + strings.Repeat("x", MaxBodyBytes) + `"}`} {
		if rec := f.doBody("POST", "/api/v1/alerts/a1/comment", access.RoleAdmin, body); rec.Code != 400 {
			t.Errorf("body %.40s: %d", body, rec.Code)
		}
	}
	if rec := f.do("POST", "/api/v1/alerts/a1/comment", access.RoleAdmin); rec.Code != 400 || !strings.Contains(rec.Body.String(), "comment needs text") {
		t.Fatalf("empty comment: %d %s", rec.Code, rec.Body)
	}
	rec = f.doBody("POST", "/api/v1/alerts/a1/assign", access.RoleAdmin, `{"assignee":"op-operator"}`)
	if d := decode[AlertDetail](t, rec); rec.Code != 200 || d.Alert.Assignee != "op-operator" {
		t.Fatalf("assign: %d %s", rec.Code, rec.Body)
	}
	log := decode[AuditResponse](t, f.do("GET", "/api/v1/audit", access.RoleAdmin)).Entries
	var actions []string
	for _, e := range log {
		if e.Target == "a1" {
			actions = append(actions, e.Action+" by "+e.Actor)
		}
	}
	want := []string{"alert.assign by op-admin", "alert.resolve by op-admin", "alert.acknowledge by op-operator"}
	if !reflect.DeepEqual(actions, want) {
		t.Fatalf("audit %v, want %v (one entry per real change)", actions, want)
	}
	if rec := f.do("GET", "/api/v1/audit?actor=op-operator&since=1h", access.RoleAdmin); rec.Code != 200 || len(decode[AuditResponse](t, rec).Entries) != 1 {
		t.Fatalf("audit filter: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/audit?since=yesterday", access.RoleAdmin); rec.Code != 400 {
		t.Fatalf("bad since: %d", rec.Code)
	}
}

// Several ids or a filter at once; each alert's refusal names its state.
func TestBulkActions(t *testing.T) {
	f := newFixture(t, nil)
	f.seed("b1", nil)
	f.seed("b2", func(a *alerts.Alert) { a.Hosts = []string{"CRMAPP02"} })
	f.seed("b3", func(a *alerts.Alert) { a.Rule = "other" })
	f.do("POST", "/api/v1/alerts/b2/acknowledge", access.RoleOperator)
	rec := f.doBody("POST", "/api/v1/alerts/actions", access.RoleOperator, `{"action":"acknowledge","ids":["b1","b2","nope"],"comment":"bulk"}`)
	res := decode[BulkResponse](t, rec)
	if rec.Code != 200 || res.OK != 1 || res.Failed != 2 || res.Results[1].Status != 409 || res.Results[2].Status != 404 {
		t.Fatalf("by ids: %d %s", rec.Code, rec.Body)
	}
	rec = f.doBody("POST", "/api/v1/alerts/actions", access.RoleOperator, `{"action":"resolve","filter":{"rule":"crm.async.stopped","host":"CRMAPP01"}}`)
	if res := decode[BulkResponse](t, rec); rec.Code != 200 || res.OK != 1 || res.Results[0].ID != "b1" || res.Results[0].State != alerts.StateResolved {
		t.Fatalf("by filter: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`{"action":"explode","ids":["b1"]}`, `{"action":"ack"}`, `{"action":"ack","ids":["b1"],"filter":{"rule":"r"}}`, `{"action":"ack","filter":{}}`, `{"action":"ack","filter":{"severity":"x"}}`} {
		if rec := f.doBody("POST", "/api/v1/alerts/actions", access.RoleOperator, body); rec.Code != 400 {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
}

func TestMaintenanceAndSilencesAPI(t *testing.T) {
	f := newFixture(t, nil)
	nudges := 0
	f.srv.opts.SuppressionsChanged = func() { nudges++ }
	rec := f.doBody("POST", "/api/v1/maintenance", access.RoleOperator,
		`{"groups":["frontend"],"weekly":{"days":["sat","sun"],"at":"22:00","duration":"4h","tz":"Europe/Berlin"},"comment":"patch night"}`)
	win := decode[WindowInfo](t, rec)
	if rec.Code != 201 || win.ID == "" || win.CreatedBy != "op-operator" || len(win.Weekly.Days) != 2 {
		t.Fatalf("add window: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`{"hosts":["H"]}`, `{"hosts":["H"],"start":"2026-11-03T09:00:00Z","end":"2026-11-03T09:30:00Z"}`,
		`{"hosts":["H"],"weekly":{"days":["someday"],"at":"22:00","duration":"4h","tz":"UTC"}}`} {
		if rec := f.doBody("POST", "/api/v1/maintenance", access.RoleOperator, body); rec.Code != 400 {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	if rec := f.do("GET", "/api/v1/maintenance", access.RoleReadonly); len(decode[WindowsResponse](t, rec).Windows) != 1 {
		t.Fatalf("list windows: %s", rec.Body)
	}
	if rec := f.do("DELETE", "/api/v1/maintenance/"+win.ID, access.RoleOperator); rec.Code != 200 {
		t.Fatalf("remove: %d", rec.Code)
	}
	rec = f.doBody("POST", "/api/v1/silences", access.RoleOperator, `{"matchers":["host=CRMAPP01","rule=~crm\\..*"],"duration":"2h","comment":"failover test"}`)
	sil := decode[SilenceInfo](t, rec)
	if rec.Code != 201 || !sil.Active || !sil.End.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("add silence: %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{`{"matchers":["colour=red"],"duration":"1h","comment":"c"}`, `{"matchers":["host=H"],"duration":"1h"}`,
		`{"matchers":["host=H"],"duration":"200h","comment":"c"}`} {
		if rec := f.doBody("POST", "/api/v1/silences", access.RoleOperator, body); rec.Code != 400 {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	if rec := f.do("POST", "/api/v1/silences/"+sil.ID+"/expire", access.RoleOperator); rec.Code != 200 {
		t.Fatalf("expire: %d", rec.Code)
	}
	if rec := f.do("POST", "/api/v1/silences/nope/expire", access.RoleOperator); rec.Code != 404 {
		t.Fatalf("expire unknown: %d", rec.Code)
	}
	if nudges != 4 {
		t.Fatalf("%d nudges for 4 changes", nudges)
	}
	var actions []string
	for _, e := range decode[AuditResponse](t, f.do("GET", "/api/v1/audit", access.RoleAdmin)).Entries {
		actions = append(actions, e.Action)
	}
	if !reflect.DeepEqual(actions[:4], []string{"silence.expire", "silence.add", "maintenance.remove", "maintenance.add"}) {
		t.Fatalf("audit %v", actions)
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
	if _, err := st.Commit(ctx, store.Commit{Changes: cs}); err != nil {
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

// BenchmarkListOpenAlerts10k is the NOC's list with 10,000 open alerts in
// the store (SQLite): GET /api/v1/alerts?state=open&top=true at the default
// page size (500), over HTTP semantics without the network. It reports
// p50 and p99 latency in milliseconds.
func BenchmarkListOpenAlerts10k(b *testing.B) {
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
	for batch := range 10 {
		var cs []alerts.Change
		for i := range 1000 {
			n := batch*1000 + i
			a := alerts.Alert{ID: fmt.Sprintf("a%05d", n), Rule: fmt.Sprintf("crm.rule-%d", n%50), Key: fmt.Sprintf("host=H%d|organization=o%d", n%20, n),
				Severity: alerts.SeverityError, State: alerts.StateNew, RepeatCount: 1 + n%7, FirstSeen: t0, LastSeen: t0.Add(time.Duration(n) * time.Second),
				Hosts: []string{fmt.Sprintf("CRMAPP%02d", n%20)}, Organizations: []string{fmt.Sprintf("org-%d", n%300)},
				Summary: "SQL error on a host for an organization: Timeout expired. The timeout period elapsed."}
			cs = append(cs, alerts.Change{Kind: alerts.ChangeRaised, Alert: a, At: t0, By: a.Rule})
		}
		if _, err := st.Commit(ctx, store.Commit{Changes: cs}); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		req := httptest.NewRequest("GET", "/api/v1/alerts?state=open&top=true", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"total":10000`)) {
			b.Fatal(rec.Code, rec.Body.String()[:200])
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}
