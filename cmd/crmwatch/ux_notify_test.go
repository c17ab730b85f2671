package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/notify/alertmanager/amtest"
	"crmwatch/notify/snmptrap/traptest"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
)

// The operator's view of notifications: --config and --webhook configure
// receivers, `notify receivers` lists them, `notify test` proves each one
// (exit 1 naming the failure, never the URL's token), and a broken config
// file is refused with every problem listed.
func TestNotifyCLI(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	const key = "cli-hook-key"
	var tests atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret.New(key), r.Header, body, time.Now(), time.Minute) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.Contains(string(body), `"test":true`) {
			tests.Add(1)
		}
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "server.yaml")
	writeFileT(t, cfg, "notify:\n  receivers:\n    - name: noc\n      webhook: {url: '"+hook.URL+"', secret: "+key+"}\n")
	const token = "tok-cli-55aa"
	am := amtest.Start(t)
	const community = "comm-cli-9031"
	trapd := traptest.Start(t, "authCommunity log "+community+"\n")
	data := t.TempDir()
	srv := runBackground("server", "--data", data, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
		"--config", cfg, "--webhook", "http://"+closedPort(t)+"/hook?token="+token, "--alertmanager", am.URL,
		"--snmp-trap-target", "udp:"+trapd.Addr, "--snmp-trap-community", community)
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
	if tok == "" {
		t.Fatalf("operators add: %+v", add)
	}
	conn := []string{"--url", "http://" + httpAddr, "--token", tok}

	r := runRoot(t, append([]string{"notify", "receivers"}, conn...)...)
	if r.code != 0 || !regexp.MustCompile(`noc\s+webhook`).MatchString(r.stdout) || !regexp.MustCompile(`webhook\s+webhook`).MatchString(r.stdout) {
		t.Fatalf("notify receivers: %+v", r)
	}
	r = runRoot(t, append([]string{"notify", "test", "noc"}, conn...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Test notification sent to noc (webhook)") || tests.Load() != 1 {
		t.Fatalf("notify test noc: %+v (peer got %d)", r, tests.Load())
	}
	r = runRoot(t, append([]string{"notify", "test", "alertmanager"}, conn...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Test notification sent to alertmanager (alertmanager)") {
		t.Fatalf("notify test alertmanager: %+v", r)
	}
	if out, err := exec.Command("amtool", "--alertmanager.url="+am.URL, "alert", "query", "test=true").CombinedOutput(); err != nil || !strings.Contains(string(out), "crmwatch.notify.test") {
		t.Fatalf("amtool does not show the test alert: %s %v", out, err)
	}
	r = runRoot(t, append([]string{"notify", "test", "snmp-trap"}, conn...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Test notification sent to snmp-trap (snmp_trap)") {
		t.Fatalf("notify test snmp-trap: %+v", r)
	}
	trapd.Wait(t, "OID: CRMWATCH-MIB::crmwatchAlertFiring", "CRMWATCH-MIB::crmwatchAlertRule = STRING: crmwatch.notify.test")
	r = runRoot(t, append([]string{"notify", "test", "webhook"}, conn...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "test notification to webhook not delivered") || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("notify test webhook (closed port): %+v", r)
	}
	r = runRoot(t, append([]string{"notify", "test", "pager"}, conn...)...)
	if r.code == 0 || !strings.Contains(r.stderr, `receiver "pager" is not configured`) || !strings.Contains(r.stderr, "[alertmanager noc snmp-trap webhook]") {
		t.Fatalf("notify test pager: %+v", r)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("server exit %d", code)
	}
	all := r.stdout + r.stderr + srv.out.String() + srv.err.String()
	if strings.Contains(all, token) || strings.Contains(all, community) {
		t.Errorf("the webhook URL's token was printed:\n%s", all)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFileT(t, bad, "notify:\n  receivers:\n    - name: a b\n  routes:\n    - receivers: [x]\n")
	r = runRoot(t, "server", "--data", t.TempDir(), "--config", bad)
	if r.code == 0 || !strings.Contains(r.stderr, bad) || !strings.Contains(r.stderr, `name: "a b"`) ||
		!strings.Contains(r.stderr, "set exactly one of") || !strings.Contains(r.stderr, `receiver "x" is not configured`) {
		t.Fatalf("bad config: %+v", r)
	}
}

func writeFileT(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
