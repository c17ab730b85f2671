package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmwatch/transport"
)

// testPostgres is the machine's PostgreSQL (trust auth, database test);
// CRMWATCH_TEST_POSTGRES overrides it.
func testPostgres() string {
	if v := os.Getenv("CRMWATCH_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// postgresStoreWithPassword returns a DSN of a fresh schema on the test
// PostgreSQL with password in it (trust auth ignores it), or "" when
// PostgreSQL is unreachable outside CI.
func postgresStoreWithPassword(t *testing.T, password string) string {
	t.Helper()
	base := testPostgres()
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s is required under CI: %v", base, err)
		}
		t.Logf("PostgreSQL unreachable (%v): the store part runs on SQLite", err)
		return ""
	}
	schema := "crmwatch_clitest_" + randomHex(t)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, _ := url.Parse(base)
	u.User = url.UserPassword(u.User.Username(), password)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

var serverHTTPRE = regexp.MustCompile(`msg="server started" .*http=(\S+)`)

// Issue 17 item 6 and the secrets bar: a marker secret in every
// credential-bearing flag (--nats of server and agent, --store of server,
// operators and audit) appears in no log line, error, help text or API
// answer, while the redacted URLs show the flags were used.
func TestSecretFlagsNeverPrinted(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	marker := "Mk" + randomHex(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	natsAddr := strings.TrimPrefix(nats.ClientURL(), "nats://")
	data := t.TempDir()
	store := postgresStoreWithPassword(t, marker)
	storeArgs := []string{"--data", data}
	if store != "" {
		storeArgs = []string{"--store", store}
	}
	var seen []string // everything printed or answered
	keep := func(rs ...result) {
		for _, r := range rs {
			seen = append(seen, r.stdout, r.stderr)
		}
	}

	srv := runBackground(append([]string{"server", "--data", data, "--listen", "127.0.0.1:0",
		"--nats", "nats://crmserver:" + marker + "@" + natsAddr}, storeArgs[len(storeArgs)-2:]...)...)
	defer srv.stop(t)
	var httpAddr string
	eventually(t, 30*time.Second, "server started", func() bool {
		m := serverHTTPRE.FindStringSubmatch(srv.err.String())
		if m != nil {
			httpAddr = m[1]
		}
		return m != nil
	})
	add := runRoot(t, append([]string{"operators", "add", "alice", "--role", "admin", "--json"}, storeArgs...)...)
	keep(add)
	tok := regexp.MustCompile(`crmw_[A-Za-z0-9_-]+`).FindString(add.stdout)
	if add.code != 0 || tok == "" {
		t.Fatalf("operators add: exit %d %s %s", add.code, add.stdout, add.stderr)
	}
	conn := []string{"--url", "http://" + httpAddr, "--token", tok}

	ag := runBackground("agent", "--nats", "nats://"+marker+"@"+natsAddr, "--name", "LEAK01", "--roles", "AppServer",
		"--trace-dir", t.TempDir(), "--state", t.TempDir(), "--heartbeat", "200ms")
	defer ag.stop(t)
	eventually(t, 20*time.Second, "agent registered", func() bool {
		return strings.Contains(runRoot(t, append([]string{"agents", "list"}, conn...)...).stdout, "LEAK01")
	})
	keep(runRoot(t, append([]string{"agents", "list", "--json"}, conn...)...),
		runRoot(t, append([]string{"alerts", "list", "--json", "--state", "all"}, conn...)...),
		runRoot(t, append([]string{"audit", "--json"}, conn...)...),
		runRoot(t, append([]string{"audit"}, storeArgs...)...),
		runRoot(t, append([]string{"operators", "list"}, storeArgs...)...),
		runRoot(t, "server", "--help"), runRoot(t, "agent", "--help"), runRoot(t, "operators", "--help"),
		// Refused and failing values: the errors must not repeat them.
		runRoot(t, "agent", "--nats", "http://u:"+marker+"@127.0.0.1:1", "--name", "H", "--trace-dir", t.TempDir(), "--state", t.TempDir()),
		runRoot(t, "agent", "--nats", "nats://u:"+marker+"%zz@127.0.0.1:1", "--name", "H", "--trace-dir", t.TempDir(), "--state", t.TempDir()),
		runRoot(t, "server", "--data", t.TempDir(), "--nats", "nats:/u:"+marker+"@h", "--store", "postgres://u:"+marker+"@[::1"),
		runRoot(t, "server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
			"--store", "postgres://u:"+marker+"@"+closedPort(t)+"/db?sslmode=disable"),
		runRoot(t, "operators", "list", "--store", "postgres://u:"+marker+"@"+closedPort(t)+"/db?sslmode=disable"),
	)
	seen = append(seen, (&testServer{url: "http://" + httpAddr, token: tok}).get(t, "/metrics"))
	if code := ag.stop(t); code != 0 {
		t.Errorf("agent exit %d", code)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("server exit %d: %s", code, srv.err.String())
	}
	seen = append(seen, srv.out.String(), srv.err.String(), ag.out.String(), ag.err.String())
	all := strings.Join(seen, "\n")
	if strings.Contains(all, marker) {
		for _, line := range strings.Split(all, "\n") {
			if strings.Contains(line, marker) {
				t.Errorf("secret printed: %s", line)
			}
		}
	}
	// The flags were used, and show redacted.
	for _, want := range []string{"nats=nats://crmserver:[redacted]@" + natsAddr, "nats=nats://[redacted]@" + natsAddr} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in the logs", want)
		}
	}
	if store != "" && !strings.Contains(srv.err.String(), "store=postgres://127.0.0.1:5432/test") {
		t.Errorf("server log does not name the PostgreSQL store:\n%s", srv.err.String())
	}
}
