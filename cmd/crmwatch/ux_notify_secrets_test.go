package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The secrets bar for notifications: a marker in every receiver secret —
// the webhook URL's token and signing secret, Alertmanager's URL
// credentials and basic-auth password, the SNMP community and v3 keys, the
// SMTP password —
// given in the configuration file and the shortcut flags, a failure driven
// for each receiver, and the marker is in no log line, error, help text or
// API answer (the receivers list, the test results, /metrics).
func TestNotifySecretsNeverPrinted(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	marker := "Nm" + randomHex(t)
	// A webhook peer that refuses (and echoes what it got, secrets and all).
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "refused %s %s", r.URL.String(), r.Header.Get("X-Crmwatch-Signature"))
	}))
	defer refuse.Close()
	closed := closedPort(t)
	cfg := filepath.Join(t.TempDir(), "server.yaml")
	writeFileT(t, cfg, fmt.Sprintf(`notify:
  receivers:
    - name: hook
      webhook: {url: "%s/hook?token=t%s", secret: "s%s"}
    - name: am
      alertmanager: {url: "http://crm:u%s@%s", username: crm, password: "w%s", timeout: 2s}
    - name: nms2c
      snmp_trap: {target: "udp:no-such-host.invalid:162", community: "%s"}
    - name: nms3
      snmp_trap: {target: "udp:no-such-host.invalid:162", version: v3, user: crmwatch, auth_password: "a%s", priv_password: "p%s"}
    - name: mail
      email: {smtp: "%s", from: crmwatch@example.com, to: [noc@example.com], username: crm, password: "m%s", timeout: 2s}
`, refuse.URL, marker, marker, marker, closed, marker, marker, marker, marker, closed, marker))
	data := t.TempDir()
	srv := runBackground("server", "--data", data, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--config", cfg,
		"--webhook", "http://"+closed+"/?token="+marker, "--alertmanager", "http://u:"+marker+"@"+closed,
		"--snmp-trap-target", "udp:no-such-host.invalid:162", "--snmp-trap-community", marker)
	defer srv.stop(t)
	var httpAddr string
	eventually(t, 30*time.Second, "server started", func() bool {
		m := serverHTTPRE.FindStringSubmatch(srv.err.String())
		if m != nil {
			httpAddr = m[1]
		}
		return m != nil
	})
	add := runRoot(t, "operators", "add", "alice", "--role", "admin", "--json", "--data", data)
	tok := regexp.MustCompile(`crmw_[A-Za-z0-9_-]+`).FindString(add.stdout)
	conn := []string{"--url", "http://" + httpAddr, "--token", tok}
	var seen []string
	for _, rcv := range []string{"hook", "am", "nms2c", "nms3", "mail", "webhook", "alertmanager", "snmp-trap"} {
		r := runRoot(t, append([]string{"notify", "test", rcv, "--json"}, conn...)...)
		seen = append(seen, r.stdout, r.stderr)
		if r.code == 0 {
			t.Errorf("notify test %s succeeded; every receiver here must fail: %s", rcv, r.stdout)
		}
	}
	r := runRoot(t, append([]string{"notify", "receivers", "--json"}, conn...)...)
	seen = append(seen, r.stdout, r.stderr,
		(&testServer{url: "http://" + httpAddr, token: tok}).get(t, "/metrics"),
		runRoot(t, "server", "--help").stdout, runRoot(t, "demo", "--help").stdout)
	if code := srv.stop(t); code != 0 {
		t.Errorf("server exit %d", code)
	}
	seen = append(seen, srv.out.String(), srv.err.String())
	all := strings.Join(seen, "\n")
	for _, line := range strings.Split(all, "\n") {
		if strings.Contains(line, marker) {
			t.Errorf("secret printed: %s", line)
		}
	}
	if !strings.Contains(all, "403") || !strings.Contains(all, "connection refused") || !strings.Contains(all, "no-such-host.invalid") {
		t.Errorf("the failures are not explained:\n%s", all)
	}
}
