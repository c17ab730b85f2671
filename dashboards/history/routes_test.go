package history_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crmwatch/dashboards"
	"crmwatch/dashboards/history"
)

// serve mounts the routes without authentication (the server puts them
// behind it; server's TestEveryRouteNeedsAnOperator tries each).
func serve(t *testing.T) (*httptest.Server, time.Time) {
	t.Helper()
	st, end := farm(t)
	ds := builtin(t)
	mux := http.NewServeMux()
	for _, r := range history.Routes(history.Options{Dashboards: func() []dashboards.Dashboard { return ds }, Source: st, Now: func() time.Time { return end }}) {
		if r.Permission == "" {
			t.Fatalf("%s has no permission", r.Pattern)
		}
		mux.Handle(r.Method+" "+r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, end
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	srv, end := serve(t)
	code, body := getBody(t, srv.URL+"/api/v1/dashboards")
	var list history.ListResponse
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Dashboards) != 10 || list.Dashboards[0].ID != "crm-overview" {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = getBody(t, srv.URL+"/api/v1/dashboards/crm-role-sql")
	var d history.Dashboard
	if code != 200 || json.Unmarshal([]byte(body), &d) != nil || len(d.Hosts) == 0 || len(d.Panels) != 4 {
		t.Fatalf("one: %d %s", code, body)
	}
	for _, h := range d.Hosts {
		if !strings.Contains(strings.ToUpper(h), "SQL") {
			t.Errorf("the SQL role's host choices hold %s", h)
		}
	}
	code, body = getBody(t, srv.URL+"/api/v1/dashboards/crm-overview")
	if code != 200 || !strings.Contains(body, `"not_recorded":"crmwatch_alerts_open is a metric of the server's own /metrics`) {
		t.Errorf("overview: the open-alerts panel is not marked not recorded: %s", body)
	}
	code, body = getBody(t, srv.URL+"/api/v1/dashboards/crm-server/panels/processor-time/series?from=2h&host="+d.Hosts[0])
	var s history.SeriesResponse
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil || len(s.Queries) != 1 || len(s.Queries[0].Series) != 1 ||
		len(s.Queries[0].Series[0].Points) != 120 || !s.To.Equal(end) {
		t.Fatalf("series: %d %.300s", code, body)
	}
	for path, want := range map[string]string{
		"/api/v1/dashboards/nope":                                                  `no dashboard \"nope\": GET /api/v1/dashboards lists them`,
		"/api/v1/dashboards/crm-server/panels/nope/series":                         `dashboard crm-server has no panel \"nope\"`,
		"/api/v1/dashboards/crm-server/panels/processor-time/series?from=x":        `from: \"x\" is neither an RFC 3339 time`,
		"/api/v1/dashboards/crm-server/panels/processor-time/series?from=1h&to=2h": "must be before to",
		"/api/v1/dashboards/crm-server/panels/processor-time/series?from=500d":     "longer than the 400 days",
	} {
		code, body := getBody(t, srv.URL+path)
		if (code != 400 && code != 404) || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want %q", path, code, body, want)
		}
	}
}
