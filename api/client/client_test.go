package client

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var t0 = time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)

type env struct {
	srv    *httptest.Server
	store  *sqlstore.Store
	tokens map[access.Role]access.Token
	logs   *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, tokens: map[access.Role]access.Token{}, logs: &bytes.Buffer{}}
	for _, r := range access.Roles() {
		if e.tokens[r], err = access.CreateOperator(ctx, st, access.NewOperator{Name: "op-" + string(r), Role: r, By: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	a := alerts.Alert{ID: "a1", Rule: "crm.async.stopped", Severity: alerts.SeverityCritical, State: alerts.StateNew, RepeatCount: 12,
		FirstSeen: t0, LastSeen: t0.Add(5 * time.Minute), Hosts: []string{"CRMAPP01", "CRMAPP02", "CRMAPP03", "CRMAPP04"},
		Organizations: []string{"Contoso", "Fabrikam"}, Summary: "Asynchronous Processing Service stopped on 4 application servers",
		Knowledge: alerts.Knowledge{Cause: "The service stopped or crashed.", Resolution: "Start MSCRMAsyncService and read its event log."}}
	evs := []event.Event{{Time: t0, Host: "CRMAPP01", Source: "MSCRMAsyncService", EventID: 100, Level: event.LevelError, Message: "service stopped"}}
	if _, err := st.Commit(ctx, store.Commit{Changes: []alerts.Change{{Kind: alerts.ChangeRaised, Alert: a, At: t0, By: a.Rule, Events: evs, EventCount: 1}}}); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Store: st, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(srv)
	t.Cleanup(func() { e.srv.Close(); st.Close() })
	return e
}

func (e *env) client(t *testing.T, role access.Role) *Client {
	c, err := New(Options{URL: e.srv.URL, Token: e.tokens[role]})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, access.RoleOperator)
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := c.Alerts(ctx, AlertsQuery{States: []string{"open"}, Severity: "error", Host: "CRMAPP02", Limit: 10, TopLevel: true, Organization: "Fabrikam"})
	list := page.Alerts
	if err != nil || len(list) != 1 || list[0].ID != "a1" || list[0].RepeatCount != 12 || page.Total != 1 {
		t.Fatalf("alerts %+v %v", list, err)
	}
	d, err := c.Alert(ctx, "a1")
	if err != nil || d.Alert.EventCount != 1 || d.Knowledge.Cause == "" {
		t.Fatalf("alert %+v %v", d, err)
	}
	if d, err = c.Act(ctx, "a1", "acknowledge", api.ActionRequest{}); err != nil || d.Alert.State != alerts.StateAcknowledged {
		t.Fatalf("ack %+v %v", d.Alert, err)
	}
	if d, err = c.Act(ctx, "a1", "resolve", api.ActionRequest{}); err != nil || d.Alert.State != alerts.StateResolved {
		t.Fatalf("resolve %+v %v", d.Alert, err)
	}
	if _, err = c.Act(ctx, "a1", "resolve", api.ActionRequest{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("resolve twice: %v", err)
	}
	if _, err := c.Alert(ctx, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `alert "nope" not found`) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := e.client(t, access.RoleReadonly).Act(ctx, "a1", "acknowledge", api.ActionRequest{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("readonly ack: %v", err)
	}
	if _, err := c.Alerts(ctx, AlertsQuery{Severity: "fatal"}); err == nil || !strings.Contains(err.Error(), "severity") {
		t.Fatalf("bad severity: %v", err)
	}
}

func TestClientErrorsSayWhatToDo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	noTok, _ := New(Options{URL: e.srv.URL})
	_, err := noTok.Alerts(ctx, AlertsQuery{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "no operator token") || !strings.Contains(err.Error(), EnvToken) {
		t.Fatalf("no token: %v", err)
	}
	if err := access.RevokeOperator(ctx, e.store, "op-admin", "test"); err != nil {
		t.Fatal(err)
	}
	revoked := e.client(t, access.RoleAdmin)
	_, err = revoked.Alerts(ctx, AlertsQuery{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "invalid or revoked") || !strings.Contains(err.Error(), "operators add") {
		t.Fatalf("revoked: %v", err)
	}
	dead := httptest.NewServer(nil)
	url := dead.URL
	dead.Close()
	down, _ := New(Options{URL: url, Token: e.tokens[access.RoleReadonly]})
	_, err = down.Alerts(ctx, AlertsQuery{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "crmwatch server") {
		t.Fatalf("unreachable: %v", err)
	}
	for _, bad := range []string{"127.0.0.1:9470", "ftp://x", "http://"} {
		if _, err := New(Options{URL: bad}); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
	// No error and no server log line may carry a token.
	for _, txt := range []string{err.Error(), e.logs.String()} {
		for _, tok := range e.tokens {
			if strings.Contains(txt, tok.Reveal()) {
				t.Fatalf("token leaked: %s", txt)
			}
		}
	}
}

func TestResolve(t *testing.T) {
	tok, _ := access.GenerateToken()
	t.Setenv(EnvURL, "http://crm-noc:9470")
	t.Setenv(EnvToken, tok.Reveal())
	o, err := Resolve("", secret.Value{})
	if err != nil || o.URL != "http://crm-noc:9470" || o.Token.Reveal() != tok.Reveal() {
		t.Fatalf("from env: %+v %v", o, err)
	}
	if o, _ = Resolve("http://other:1", secret.Value{}); o.URL != "http://other:1" {
		t.Fatalf("flag must win: %s", o.URL)
	}
	t.Setenv(EnvURL, "")
	t.Setenv(EnvToken, "")
	if o, _ = Resolve("", secret.Value{}); o.URL != DefaultURL || !o.Token.IsZero() {
		t.Fatalf("defaults: %+v", o)
	}
	if _, err := Resolve("", secret.New("crmw_short")); err == nil || strings.Contains(err.Error(), "crmw_short") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestRenderGolden(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, access.RoleAdmin)
	ctx := context.Background()
	page2, err := c.Alerts(ctx, AlertsQuery{})
	list := page2.Alerts
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Alert(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := e.store.Operators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ops { // creation times come from the wall clock
		ops[i].CreatedAt = t0
	}
	var buf bytes.Buffer
	for _, step := range []func() error{
		func() error { return PrintAlerts(&buf, list, time.UTC) },
		func() error { buf.WriteString("\n"); return PrintAlerts(&buf, nil, time.UTC) },
		func() error { buf.WriteString("\n"); return PrintAlertDetail(&buf, d, time.UTC) },
		func() error {
			buf.WriteString("\n")
			done := t0.Add(time.Second)
			return printDeliveries(&buf, []store.Delivery{
				{Seq: 7, Receiver: "noc", Kind: alerts.ChangeRaised, Status: "firing", Result: store.DeliverySent, Attempts: 1, ClaimedAt: t0, DoneAt: &done},
				{Seq: 9, Receiver: "am", Kind: alerts.ChangeResolved, Status: "resolved", Result: store.DeliveryFailed, Attempts: 6, ClaimedAt: t0, DoneAt: &done,
					Error: "webhook am: POST http://127.0.0.1:1/: dial tcp 127.0.0.1:1: connect: connection refused"},
				{Seq: 12, Receiver: "noc", Kind: alerts.ChangeReopened, Status: "firing", Result: store.DeliverySending, ClaimedAt: t0},
			}, time.UTC)
		},
		func() error {
			buf.WriteString("\n")
			since := t0.Add(-2 * time.Minute)
			return PrintReceivers(&buf, []api.ReceiverInfo{{Name: "noc", Kind: "webhook"},
				{Name: "am", Kind: "alertmanager", Failures: 7, FailingSince: &since, Failing: true, LastError: "alertmanager am: 503 Service Unavailable"},
				{Name: "mail", Kind: "email", Failures: 1, FailingSince: &since, LastError: "email mail: 451 try again later"}}, time.UTC)
		},
		func() error { buf.WriteString("\n"); return PrintReceivers(&buf, nil, time.UTC) },
		func() error { buf.WriteString("\n"); return PrintOperators(&buf, ops, time.UTC) },
		func() error { buf.WriteString("\n"); return PrintOperators(&buf, []store.Operator{}, time.UTC) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "render.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("render differs from %s (go test -update to accept):\n%s", golden, buf.String())
	}
}
