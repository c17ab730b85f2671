package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/server"
)

// report capacity against a back-filled data directory and against the
// server running on it (the API route, operators only), and the server's
// scheduled reports.
func TestReportCapacity(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if r := runRoot(t, "simulate", "--backfill", "3d", "--data", data, "--hosts", "2", "--orgs", "3"); r.code != 0 {
		t.Fatalf("backfill: %s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "capacity.html")
	r := runRoot(t, "report", "capacity", "--data", data, "--since", "3d", "--out", out)
	if r.code != 0 {
		t.Fatalf("report --data: exit %d: %s", r.code, r.stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), "Tier and advice") {
		t.Fatalf("HTML report %s: %v\n%.500s", out, err, page)
	}
	if r := runRoot(t, "report", "capacity", "--data", data, "--format", "csv"); r.code != 0 || !strings.HasPrefix(r.stdout, "section,scope,role,indicator") {
		t.Fatalf("CSV: exit %d %s %.200s", r.code, r.stderr, r.stdout)
	}

	reports := t.TempDir()
	ts := startTestServer(t, server.Options{DataDir: data, CapacityReports: server.CapacityReports{Dir: reports, Every: 300 * time.Millisecond, Since: 72 * time.Hour, Formats: []string{"json"}}})
	r = runRoot(t, "report", "capacity", "--url", ts.url, "--token", ts.token, "--format", "json", "--since", "3d")
	if r.code != 0 {
		t.Fatalf("report --url: exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Version   int
		Tier      struct{ Current string }
		Forecasts []struct {
			DaysToThreshold *float64 `json:"days_to_threshold"`
		}
		Organizations []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Version != 1 || doc.Tier.Current == "" || len(doc.Forecasts) == 0 || len(doc.Organizations) != 3 {
		t.Fatalf("JSON through the API: %v %+v", err, doc)
	}
	resp, err := http.Get(ts.url + "/api/v1/reports/capacity")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", resp.StatusCode)
	}
	if body := ts.get(t, "/api/v1/reports/capacity?since=forever"); !strings.Contains(body, "30d") {
		t.Fatalf("a bad window: %s", body)
	}
	eventually(t, 60*time.Second, "a scheduled report in the folder", func() bool {
		m, _ := filepath.Glob(filepath.Join(reports, "capacity-*.json"))
		return len(m) > 0
	})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", data, "--since", "soon"}, "30d"},
		{[]string{"--data", data, "--format", "pdf"}, "html, csv or json"},
		{[]string{"--data", data, "--url", ts.url}, "not both"},
		{[]string{"--data", filepath.Join(t.TempDir(), "nothing")}, "no crmwatch store"},
	} {
		r := runRoot(t, append([]string{"report", "capacity"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("report capacity %v: exit %d, stderr %q; want an error saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
