package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmwatch/certs"
	"crmwatch/transport"
)

// TestEnrollCommands: `server --tls auto --nats-auth creds`; an admin runs
// `agents enroll NAME --roles … --out FILE` (a 0600 file with the seed and
// the CA); `agent --creds FILE` alone registers; `agents enrolled` lists
// it; `agents nats-config` renders the external equivalent; `agents revoke`
// cuts it off (the agent logs the refusal). The seed appears in no output,
// log line or error, even at debug level and with a broken file.
func TestEnrollCommands(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	data := t.TempDir()
	srv := runBackground("--log-level", "debug", "server", "--data", data, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
		"--tls", "auto", "--nats-auth", "creds")
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
	t.Setenv(certs.EnvCA, filepath.Join(data, "tls", "ca.pem"))
	conn := []string{"--url", "https://" + httpAddr, "--token", tok}

	out := filepath.Join(t.TempDir(), "CRMAPP01.creds")
	r := runRoot(t, append([]string{"agents", "enroll", "CRMAPP01", "--roles", "AppServer", "--out", out}, conn...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "crmwatch agent --creds "+out) {
		t.Fatalf("enroll: %+v", r)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	creds, err := transport.ReadCredentials(out)
	if err != nil || creds.Name != "CRMAPP01" || !strings.Contains(creds.CA, "BEGIN CERTIFICATE") || !strings.HasPrefix(creds.NATS, "tls://") {
		t.Fatalf("credentials: %+v %v", creds, err)
	}
	seed := creds.Seed.Reveal()
	var seen []string
	keep := func(rs ...result) {
		for _, r := range rs {
			seen = append(seen, r.stdout, r.stderr)
		}
	}
	keep(r)
	if r := runRoot(t, append([]string{"agents", "enroll", "CRMAPP01", "--out", out}, conn...)...); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("enroll over an existing file: %+v", r)
	}

	ag := runBackground("--log-level", "debug", "agent", "--creds", out, "--state", t.TempDir(), "--heartbeat", "200ms")
	defer ag.stop(t)
	eventually(t, 20*time.Second, "enrolled agent registered", func() bool {
		return strings.Contains(runRoot(t, append([]string{"agents", "list"}, conn...)...).stdout, "CRMAPP01")
	})
	r = runRoot(t, append([]string{"agents", "enrolled"}, conn...)...)
	if r.code != 0 || !regexp.MustCompile(`CRMAPP01\s+active\s+\[AppServer\]`).MatchString(r.stdout) {
		t.Fatalf("enrolled: %+v", r)
	}
	keep(r, runRoot(t, append([]string{"agents", "enrolled", "--json"}, conn...)...))
	r = runRoot(t, append([]string{"agents", "nats-config", "--server-key", creds.Seed.Reveal()}, conn...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "--server-key: ") || strings.Contains(r.stderr, seed) {
		t.Fatalf("nats-config with a seed as server key: %+v", r)
	}

	r = runRoot(t, append([]string{"agents", "revoke", "CRMAPP01"}, conn...)...)
	if r.code != 0 {
		t.Fatalf("revoke: %+v", r)
	}
	eventually(t, 10*time.Second, "the agent told it is refused", func() bool {
		return strings.Contains(strings.ToLower(ag.err.String()), "authorization violation")
	})
	r = runRoot(t, append([]string{"agents", "revoke", "CRMAPP01"}, conn...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no enrolled agent has this name") {
		t.Fatalf("revoke twice: %+v", r)
	}

	// A broken file: named, never quoted.
	broken := filepath.Join(t.TempDir(), "broken.creds")
	os.WriteFile(broken, []byte("name: CRMAPP01\nseed: "+seed+"x\n"), 0o600)
	r = runRoot(t, "agent", "--creds", broken, "--state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "not a valid user seed") {
		t.Fatalf("broken credentials: %+v", r)
	}
	keep(r)
	r = runRoot(t, "agent", "--creds", out, "--name", "CRMAPP02", "--state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, `the credentials in `+out+` are for "CRMAPP01"`) {
		t.Fatalf("--name other than enrolled: %+v", r)
	}
	keep(r)
	ag.stop(t)
	srv.stop(t)
	seen = append(seen, ag.out.String(), ag.err.String(), srv.out.String(), srv.err.String())
	for i, s := range seen {
		if strings.Contains(s, seed) || strings.Contains(s, seed[:20]) {
			t.Errorf("output %d shows the seed:\n%s", i, s)
		}
	}
}
