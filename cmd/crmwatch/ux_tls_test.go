package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmwatch/certs"
)

var serverNATSRE = regexp.MustCompile(`msg="server started" .*nats=(\S+)`)

// TestTLSCommands: `server --tls auto`, then operator commands with --ca
// (or CRMWATCH_CA) work, another CA is refused naming what to do,
// --insecure-skip-verify works with a loud warning, and the agent refuses
// --insecure-skip-verify but ships over TLS with --ca.
func TestTLSCommands(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	t.Setenv(certs.EnvCA, "")
	data := t.TempDir()
	srv := runBackground("server", "--data", data, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--tls", "auto")
	defer srv.stop(t)
	var httpAddr, natsURL string
	eventually(t, 30*time.Second, "server started", func() bool {
		m := serverHTTPRE.FindStringSubmatch(srv.err.String())
		n := serverNATSRE.FindStringSubmatch(srv.err.String())
		if m != nil && n != nil {
			httpAddr, natsURL = m[1], n[1]
		}
		return m != nil && n != nil
	})
	if !strings.HasPrefix(natsURL, "tls://") {
		t.Fatalf("NATS URL %q, want tls://", natsURL)
	}
	add := runRoot(t, "operators", "add", "alice", "--role", "admin", "--json", "--data", data)
	tok := regexp.MustCompile(`crmw_[A-Za-z0-9_-]+`).FindString(add.stdout)
	if tok == "" {
		t.Fatalf("operators add: %+v", add)
	}
	ca := filepath.Join(data, "tls", "ca.pem")
	conn := []string{"--url", "https://" + httpAddr, "--token", tok}

	if r := runRoot(t, append([]string{"alerts", "list", "--ca", ca}, conn...)...); r.code != 0 {
		t.Fatalf("alerts list --ca: %+v", r)
	}
	t.Setenv(certs.EnvCA, ca)
	if r := runRoot(t, append([]string{"alerts", "list"}, conn...)...); r.code != 0 {
		t.Fatalf("alerts list with %s: %+v", certs.EnvCA, r)
	}
	t.Setenv(certs.EnvCA, "")
	other, err := certs.Auto(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runRoot(t, append([]string{"alerts", "list", "--ca", other.CAFile}, conn...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "the server's TLS certificate is not signed by the CA in "+other.CAFile) {
		t.Fatalf("wrong CA: %+v", r)
	}
	r = runRoot(t, append([]string{"alerts", "list"}, conn...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "not signed by the system's trusted roots: pass the CA the server uses with --ca FILE or CRMWATCH_CA") {
		t.Fatalf("no CA: %+v", r)
	}
	r = runRoot(t, append([]string{"alerts", "list", "--insecure-skip-verify"}, conn...)...)
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING: --insecure-skip-verify") {
		t.Fatalf("insecure: %+v", r)
	}

	r = runRoot(t, "agent", "--nats", natsURL, "--insecure-skip-verify", "--name", "TLS01", "--state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "--insecure-skip-verify is refused for the agent") {
		t.Fatalf("agent --insecure-skip-verify: %+v", r)
	}
	ag := runBackground("agent", "--nats", natsURL, "--ca", ca, "--name", "TLS01", "--roles", "AppServer",
		"--state", t.TempDir(), "--heartbeat", "200ms")
	defer ag.stop(t)
	eventually(t, 20*time.Second, "agent registered over TLS", func() bool {
		return strings.Contains(runRoot(t, append([]string{"agents", "list", "--ca", ca}, conn...)...).stdout, "TLS01")
	})
	bad := runBackground("agent", "--nats", natsURL, "--ca", other.CAFile, "--name", "TLS02", "--state", t.TempDir())
	defer bad.stop(t)
	eventually(t, 20*time.Second, "agent with another CA says why", func() bool {
		return strings.Contains(bad.err.String(), "not signed by the CA in "+other.CAFile)
	})
}

// TestTLSKeyNeverPrinted: a --tls-key that does not load stops the server
// naming the file, never quoting it; --tls-cert without --tls-key and an
// unknown --tls value say what to write.
func TestTLSKeyNeverPrinted(t *testing.T) {
	const marker = "KEYMARKER-5b1e"
	dir := t.TempDir()
	p, err := certs.Auto(filepath.Join(dir, "tls"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\n"+marker+"\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runRoot(t, "--log-level", "debug", "server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
		"--tls-cert", p.CertFile, "--tls-key", key)
	if r.code != 1 || !strings.Contains(r.stderr, key) || strings.Contains(r.stdout+r.stderr, marker) {
		t.Fatalf("bad key: %+v", r)
	}
	r = runRoot(t, "server", "--data", t.TempDir(), "--tls-cert", p.CertFile)
	if r.code != 1 || !strings.Contains(r.stderr, "--tls-cert and --tls-key go together") {
		t.Fatalf("cert without key: %+v", r)
	}
	r = runRoot(t, "server", "--data", t.TempDir(), "--tls", "on")
	if r.code != 1 || !strings.Contains(r.stderr, `--tls "on": the only value is auto`) {
		t.Fatalf("--tls on: %+v", r)
	}
}
