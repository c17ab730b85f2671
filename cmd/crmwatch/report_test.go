package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	notifyconfig "crmwatch/notify/config"
	"crmwatch/notify/email"
	"crmwatch/notify/email/mailtest"
	"crmwatch/secret"
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
	mb := mailtest.Start(t, true, "planner", "smtp-pass-3318")
	mailer := notifyconfig.Receiver{Name: "planning", Email: &email.Config{SMTP: mb.Addr, From: "crmwatch@example.com", To: []string{"capacity@example.com"},
		Username: "planner", Password: secret.New("smtp-pass-3318"), CAFile: mb.CAFile}}
	ts := startTestServer(t, server.Options{DataDir: data, Notify: notifyconfig.Section{Receivers: []notifyconfig.Receiver{mailer}},
		CapacityReports: server.CapacityReports{Dir: reports, Mail: []string{"planning"}, Every: 300 * time.Millisecond, Since: 72 * time.Hour, Formats: []string{"json", "html"}}})
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
	// The same report mailed through the e-mail receiver: a summary in the
	// text and both formats attached.
	var report *mail.Message
	eventually(t, 60*time.Second, "a scheduled report mailed", func() bool {
		for _, raw := range mb.Messages() {
			if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil && strings.HasPrefix(m.Header.Get("Subject"), "[crmwatch] capacity report ") {
				report = m
				return true
			}
		}
		return false
	})
	_, params, _ := mime.ParseMediaType(report.Header.Get("Content-Type"))
	parts := map[string]string{}
	mr := multipart.NewReader(report.Body, params["boundary"])
	for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
		b, _ := io.ReadAll(p)
		if p.FileName() != "" {
			b, _ = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
		}
		parts[filepath.Ext(p.FileName())] = string(b)
	}
	if !strings.Contains(parts[""], "Tier: ") || !strings.Contains(parts[".html"], "Tier and advice") || !strings.Contains(parts[".json"], `"version": 1`) {
		t.Errorf("mailed report: text %q, html %d bytes, json %.80q", parts[""], len(parts[".html"]), parts[".json"])
	}

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

// The --config file schedules reports too: mail must name an e-mail
// receiver of its notify section, every problem is listed, and a flag
// given on the command line wins over the file.
func TestCapacityReportsConfig(t *testing.T) {
	_, err := server.ParseConfigFile([]byte(`notify:
  receivers:
    - {name: hook, webhook: {url: "http://127.0.0.1:1/hook"}}
reports:
  capacity:
    mail: [hook, nobody]
    formats: [pdf]
`))
	for _, want := range []string{`mail "hook": that receiver is a webhook receiver`, `mail "nobody": no such receiver`, `format "pdf"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config error %v: want %q", err, want)
		}
	}
	f, err := server.ParseConfigFile([]byte(`notify:
  receivers:
    - {name: planning, email: {smtp: "mail.example:587", from: crmwatch@example.com, to: [cap@example.com]}}
reports:
  capacity: {dir: /srv/reports, mail: [planning], every: 168h, formats: [html]}
`))
	if err != nil {
		t.Fatal(err)
	}
	fl := pflag.NewFlagSet("server", pflag.ContinueOnError)
	var c server.CapacityReports
	fl.StringVar(&c.Dir, "capacity-report-dir", "", "")
	fl.DurationVar(&c.Every, "capacity-report-every", 24*time.Hour, "")
	if err := fl.Parse([]string{"--capacity-report-every", "1h"}); err != nil {
		t.Fatal(err)
	}
	capacityReportSettings(fl, &c, f.Reports.Capacity)
	if c.Dir != "/srv/reports" || c.Every != time.Hour || len(c.Mail) != 1 || c.Formats[0] != "html" {
		t.Errorf("merged settings %+v: want the file's dir, mail and formats and the flag's every", c)
	}
	// The server refuses to start with a mail receiver that does not exist.
	err = server.Options{DataDir: t.TempDir(), CapacityReports: server.CapacityReports{Mail: []string{"planning"}}}.Validate()
	if err == nil || !strings.Contains(err.Error(), `mail "planning": no such receiver`) {
		t.Errorf("options with an unknown mail receiver: %v", err)
	}
}
