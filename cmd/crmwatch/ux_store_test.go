package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmwatch/api"
	"crmwatch/server"
)

var tokenRE = regexp.MustCompile(`crmw_[A-Za-z0-9_-]{43}`)

// Issue 17 item 3: the commands that work on an existing store refuse a
// directory without one, name the path and say how to create it, and
// create nothing; operators add --init creates it on purpose.
func TestStoreCommandsRefuseAMissingStore(t *testing.T) {
	wrong := filepath.Join(t.TempDir(), "crmwatch-dat")
	want := fmt.Sprintf("crmwatch: no crmwatch store in %s (there is no %s): check --data; a server creates its store on its first start (crmwatch server --data %s)\n",
		wrong, filepath.Join(wrong, "crmwatch.db"), wrong)
	for _, args := range [][]string{
		{"operators", "add", "bob", "--role", "admin"},
		{"operators", "list"},
		{"operators", "revoke", "bob"},
		{"operators", "rotate", "bob"},
		{"audit"},
	} {
		r := runRoot(t, append(args, "--data", wrong)...)
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("%v: exit %d\nstderr %q\nwant   %q", args, r.code, r.stderr, want)
		}
		if _, err := os.Stat(wrong); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v created %s", args, wrong)
		}
	}
	r := runRoot(t, "operators", "add", "bob", "--role", "admin", "--data", wrong, "--init")
	if r.code != 0 || !tokenRE.MatchString(r.stdout) {
		t.Fatalf("add --init: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runRoot(t, "operators", "list", "--data", wrong); r.code != 0 || !strings.Contains(r.stdout, "bob") {
		t.Errorf("list after --init: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// Issue 17 item 4: a second server on a data directory in use is refused
// at once, naming the pid of the one holding it; operators commands keep
// working on the live directory.
func TestSecondServerOnADataDirIsRefused(t *testing.T) {
	data := t.TempDir()
	startTestServer(t, server.Options{DataDir: data})
	start := time.Now()
	r := runRoot(t, "server", "--data", data, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	want := fmt.Sprintf("crmwatch: server: data directory %s is in use by another crmwatch server (pid %d): stop that server, or give this one another --data\n", data, os.Getpid())
	if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
		t.Errorf("exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("refused after %s, want at once", took)
	}
	if r := runRoot(t, "operators", "add", "carol", "--role", "readonly", "--data", data); r.code != 0 {
		t.Errorf("operators add on a live data directory: exit %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, "operators", "list", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "carol") {
		t.Errorf("operators list on a live data directory: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// Issue 17 items 5 and 11: a revoked operator's name can be used again
// (the list and the audit log keep the first one), rotate issues a new
// token and the old one is refused at once, and crmwatch audit shows who
// did what, filtered by --since and --actor, from the API or the store.
func TestOperatorsReuseRotateAndAudit(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	data := t.TempDir()
	ts := startTestServer(t, server.Options{DataDir: data})
	conn := []string{"--url", ts.url, "--token", ts.token}

	first := runRoot(t, "operators", "add", "dave", "--role", "operator", "--data", data)
	again := runRoot(t, "operators", "add", "dave", "--role", "readonly", "--data", data)
	if first.code != 0 || again.code != 1 || !strings.Contains(again.stderr,
		`add operator "dave": already exists and is active (give them a new token with crmwatch operators rotate dave, or revoke them first)`) {
		t.Fatalf("add twice: %d %d %q", first.code, again.code, again.stderr)
	}
	if r := runRoot(t, "operators", "revoke", "dave", "--data", data); r.code != 0 || r.stdout != "Operator dave revoked; their token no longer works.\n" {
		t.Fatalf("revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	readded := runRoot(t, "operators", "add", "dave", "--role", "readonly", "--data", data)
	if readded.code != 0 || !strings.Contains(readded.stdout, "Operator dave (readonly) created.") {
		t.Fatalf("re-adding a revoked name: exit %d %q %q", readded.code, readded.stdout, readded.stderr)
	}
	list := runRoot(t, "operators", "list", "--data", data)
	rfc3339 := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`
	if !regexp.MustCompile(`dave\s+operator\s+`+rfc3339+`\s+-\s+`+rfc3339+`\n`).MatchString(list.stdout) ||
		!regexp.MustCompile(`dave\s+readonly\s+`+rfc3339+`\s+-\s+-\n`).MatchString(list.stdout) {
		t.Errorf("operators list keeps the revoked dave and the new one, times in RFC 3339:\n%s", list.stdout)
	}

	oldTok := tokenRE.FindString(readded.stdout)
	daveConn := []string{"--url", ts.url, "--token", oldTok}
	if r := runRoot(t, append([]string{"alerts", "list"}, daveConn...)...); r.code != 0 {
		t.Fatalf("dave's token: %d %s", r.code, r.stderr)
	}
	rot := runRoot(t, "operators", "rotate", "dave", "--data", data)
	newTok := tokenRE.FindString(rot.stdout)
	if rot.code != 0 || newTok == "" || newTok == oldTok || !strings.Contains(rot.stdout, "the old one no longer works") {
		t.Fatalf("rotate: %d %q %q", rot.code, rot.stdout, rot.stderr)
	}
	if r := runRoot(t, append([]string{"alerts", "list"}, daveConn...)...); r.code != 1 || !strings.Contains(r.stderr, "is invalid or revoked") ||
		strings.Contains(r.stderr, "token token(") {
		t.Errorf("old token after rotate: exit %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, "alerts", "list", "--url", ts.url, "--token", newTok); r.code != 0 {
		t.Errorf("new token: exit %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, "operators", "rotate", "nobody", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "no active operator has this name") {
		t.Errorf("rotate unknown: %d %s", r.code, r.stderr)
	}

	// The audit log, from the API and from the store.
	actor := localActor()
	ap := runRoot(t, append([]string{"audit", "--since", "1h", "--actor", actor}, conn...)...)
	if ap.code != 0 || !regexp.MustCompile(rfc3339+`\s+`+regexp.QuoteMeta(actor)+`\s+operator.rotate\s+dave\s+token=`).MatchString(ap.stdout) ||
		strings.Count(ap.stdout, "operator.add") != 2 || strings.Count(ap.stdout, "operator.revoke") != 1 || strings.Contains(ap.stdout, "test") {
		t.Errorf("audit via the API (exit %d):\n%s%s", ap.code, ap.stdout, ap.stderr)
	}
	js := runRoot(t, "audit", "--json", "--actor", "test", "--data", data)
	var parsed api.AuditResponse
	if js.code != 0 || json.Unmarshal([]byte(js.stdout), &parsed) != nil || len(parsed.Entries) != 1 || parsed.Entries[0].Target != "alice" {
		t.Errorf("audit --json from the store (exit %d): %s %s", js.code, js.stdout, js.stderr)
	}
	if r := runRoot(t, append([]string{"audit", "--since", "yesterday"}, conn...)...); r.code != 1 ||
		!strings.Contains(r.stderr, `--since "yesterday" is neither an RFC 3339 time (2026-11-21T23:00:00Z) nor a duration such as 90m, 24h or 7d`) {
		t.Errorf("bad --since: %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, append([]string{"audit", "--data", data}, conn...)...); r.code != 1 || !strings.Contains(r.stderr, "not both") {
		t.Errorf("--data with --url: %d %s", r.code, r.stderr)
	}
}
