package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/event"
	"crmwatch/store"
)

const extraPack = `format: crmwatch.pack/v1
name: extra
version: 1.0.0
description: An operator's own pack, reloaded while the server runs.
roles: [AppServer]
`

const sandboxRule = `  - id: extra.sandbox-error
    kind: event
    severity: warning
    summary: "Sandbox error on {{.Host}}"
    knowledge: {cause: The sandbox failed., resolution: Check the sandbox service.}
    event: {sources: [trace], categories: [Sandbox], levels: [error]}
`

// TestReload: an admin reloads the packs through the API; a broken pack is
// refused with the problem named while the running rules keep raising
// alerts; a fixed pack is taken; every attempt is audited.
func TestReload(t *testing.T) {
	packDir := t.TempDir()
	writeFile(t, filepath.Join(packDir, "pack.yaml"), extraPack)
	writeFile(t, filepath.Join(packDir, "rules", "a.yaml"), "rules:\n"+sandboxRule)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		PackDirs: []string{packDir}, TickEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	admin := operatorToken(t, srv, "alice", access.RoleAdmin)
	readonly := operatorToken(t, srv, "noc", access.RoleReadonly)
	url := "http://" + srv.HTTPAddr() + ReloadPath

	if code, _ := post(t, url, ""); code != http.StatusUnauthorized {
		t.Errorf("reload without a token: %d, want 401", code)
	}
	if code, _ := post(t, url, readonly); code != http.StatusForbidden {
		t.Errorf("reload as readonly: %d, want 403", code)
	}
	code, body := post(t, url, admin)
	if code != http.StatusOK || !strings.Contains(body, `"rules":`) {
		t.Fatalf("reload as admin: %d %s", code, body)
	}
	before := ruleCount(t, body)

	// A broken rule next to a new one: refused as a whole, naming file and problem.
	writeFile(t, filepath.Join(packDir, "rules", "a.yaml"), "rules:\n"+sandboxRule+
		strings.ReplaceAll(strings.ReplaceAll(sandboxRule, "extra.sandbox-error", "extra.broken"), "categories: [Sandbox]", `categories: [Sandbox], message: "(["`))
	code, body = post(t, url, admin)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "a.yaml") || !strings.Contains(body, "extra.broken") ||
		!strings.Contains(body, "running rules stay") {
		t.Fatalf("reload of a broken pack: %d %s; want 422 naming a.yaml, the rule and that the running rules stay", code, body)
	}

	// The running rules still work.
	pub := publisherTo(t, srv.NATSURL().Reveal())
	ev := event.Event{Time: time.Now(), Host: "CRMAPP01", Role: "AppServer", Source: event.SourceTrace, Level: event.LevelError,
		Category: "Sandbox", Organization: "contoso", Message: "Access Denied",
		Origin: event.Origin{Collector: "test", Fingerprint: "fp-reload", Offset: 1}}
	if err := pub.Emit(context.Background(), event.Batch{Host: "CRMAPP01", Events: []event.Event{ev}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		as, err := srv.Store().Alerts(context.Background(), store.AlertFilter{Rule: "extra.sandbox-error"})
		return err == nil && len(as.Alerts) == 1
	}, "the running rule extra.sandbox-error to raise its alert after the refused reload")

	// Fixed: one more rule runs.
	writeFile(t, filepath.Join(packDir, "rules", "a.yaml"), "rules:\n"+sandboxRule+
		strings.ReplaceAll(sandboxRule, "extra.sandbox-error", "extra.sandbox-error-2"))
	code, body = post(t, url, admin)
	if code != http.StatusOK || ruleCount(t, body) != before+1 {
		t.Fatalf("reload of the fixed pack: %d %s; want %d rules", code, body, before+1)
	}

	log, err := srv.Store().AuditLog(context.Background(), store.AuditFilter{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range log {
		seen[e.Action] = e.Actor
	}
	if seen["packs.reload"] != "alice" || seen["packs.reload.refused"] != "alice" {
		t.Errorf("audit log %+v: want packs.reload and packs.reload.refused by alice", log)
	}
}

func operatorToken(t *testing.T, srv *Server, name string, role access.Role) string {
	t.Helper()
	tok, err := access.CreateOperator(context.Background(), srv.Store(), access.NewOperator{Name: name, Role: role, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

func post(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ruleCount(t *testing.T, body string) int {
	t.Helper()
	var res ReloadResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("reload body %q: %v", body, err)
	}
	return res.Rules
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
