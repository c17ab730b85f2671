package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	notifyconfig "crmwatch/notify/config"
)

const goodConfig = `notify:
  console_url: https://crmwatch.example/
  repeat_interval: 2h
  retry: {initial: 1s, max: 10s, for: 1m}
  failing: {attempts: 5, for: 30s}
  log_retention: 720h
  receivers:
    - name: noc
      webhook: {url: "https://hooks.example/crmwatch?token=tok-31337", secret: hmac-31337, timeout: 5s}
    - name: am
      alertmanager: {url: "http://127.0.0.1:9093", username: crm, password: am-31337, firing_ttl: 48h}
    - name: nms
      snmp_trap: {target: "udp:127.0.0.1:162", version: v3, user: crmwatch, auth_password: auth-31337, priv_password: priv-31337}
    - name: mail
      email: {smtp: "127.0.0.1:587", from: crmwatch@example.com, to: [noc@example.com], username: crm, password: mail-31337}
  routes:
    - matchers: ["severity=~error|critical", "role=AppServer"]
      receivers: [noc]
`

func TestConfigFile(t *testing.T) {
	f, err := ParseConfigFile([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	n := f.Notify
	if len(n.Receivers) != 4 || n.Receivers[3].Email == nil || n.Receivers[3].Email.StartTLS != "" || n.Receivers[2].SNMPTrap == nil || n.Receivers[2].SNMPTrap.PrivPassword.Reveal() != "priv-31337" || n.Receivers[1].Alertmanager == nil || n.Receivers[1].Alertmanager.FiringTTL.String() != "48h0m0s" || n.Receivers[0].Webhook == nil || n.Receivers[0].Webhook.Timeout.String() != "5s" ||
		n.Receivers[0].Webhook.Secret.Reveal() != "hmac-31337" || len(n.Routes) != 1 || n.RepeatInterval.String() != "2h0m0s" {
		t.Fatalf("parsed %+v", n)
	}
	b, err := n.Build()
	if err != nil || b.Failing.Attempts != 5 || b.Failing.For != 30*time.Second || b.LogRetention != 720*time.Hour {
		t.Fatalf("failing %+v, log retention %s: %v", b.Failing, b.LogRetention, err)
	}
	if f, err := ParseConfigFile(nil); err != nil || !f.Notify.IsZero() {
		t.Fatalf("empty file: %+v %v", f, err)
	}
	// The defaults docs/notifications.md gives.
	b, err = notifyconfig.Section{}.Build()
	if err != nil || b.Failing.Attempts != 3 || b.Failing.For != time.Minute || b.LogRetention != 90*24*time.Hour {
		t.Fatalf("defaults: failing %+v, log retention %s: %v", b.Failing, b.LogRetention, err)
	}
}

// Every problem in the file is listed at once, each saying where; secrets
// are never repeated.
func TestConfigFileListsEveryProblem(t *testing.T) {
	bad := `notify:
  console_url: ftp://x
  repeat_interval: -1h
  failing: {attempts: -1}
  log_retention: 10m
  receivers:
    - name: "no space"
      webhook: {url: "ftp://user:pw-31337@hooks.example/", timeout: -1s}
    - name: noc
    - name: noc
      webhook: {url: https://hooks.example/}
      alertmanager: {url: "http://u:pw-31337@am/", password: x}
  routes:
    - matchers: ["colour=red"]
      receivers: [nobody]
`
	_, err := ParseConfigFile([]byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`notify.console_url "ftp://x"`,
		"notify.repeat_interval: must not be negative",
		"notify.failing: attempts and for must not be negative (0 takes the default: 3 attempts over 1m0s)",
		"notify.log_retention: 10m0s is shorter than an hour",
		`notify.receivers[0] (no space): name: "no space": only letters`,
		"notify.receivers[0] (no space): webhook: url",
		"notify.receivers[0] (no space): webhook: timeout: must not be negative",
		"notify.receivers[1] (noc): set exactly one of [webhook alertmanager snmp_trap email] (found 0)",
		"notify.receivers[2] (noc): set exactly one of [webhook alertmanager snmp_trap email] (found 2)",
		"notify.receivers[2] (noc): name: another receiver has it",
		`notify.routes[0]: matcher label "colour"`,
		`notify.routes[0]: receiver "nobody" is not configured`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "pw-31337") {
		t.Errorf("password repeated:\n%s", msg)
	}
	if _, err := ParseConfigFile([]byte("notify:\n  recievers: []\n")); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "recievers") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestReadConfigFile(t *testing.T) {
	if _, err := ReadConfigFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(p, []byte("notify:\n  receivers: [{name: x}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfigFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("bad file: %v", err)
	}
}

func FuzzParseConfigFile(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte("notify:\n  receivers:\n    - name: a\n      webhook: {url: http://x}\n"))
	f.Add([]byte("notify: {routes: [{matchers: ['host=~(']}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := ParseConfigFile(data)
		if err == nil {
			if _, err := cf.Notify.Build(); err != nil {
				t.Fatalf("validated but does not build: %v", err)
			}
		}
	})
}
