package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

func runCLI(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestOperatorsAndAlertsCLI creates the first admin on the store directly,
// then uses the printed token against a running API, as an operator would.
func TestOperatorsAndAlertsCLI(t *testing.T) {
	t.Setenv("CRMWATCH_URL", "")
	t.Setenv("CRMWATCH_TOKEN", "")
	data := t.TempDir()
	out, err := runCLI(t, newOperatorsCmd(), "add", "alice", "--role", "admin", "--data", data, "--json", "--init")
	if err != nil {
		t.Fatal(err, out)
	}
	var added map[string]string
	if err := json.Unmarshal([]byte(out), &added); err != nil || added["role"] != "admin" || !strings.HasPrefix(added["token"], "crmw_") {
		t.Fatalf("add output %q: %v", out, err)
	}
	if _, err := runCLI(t, newOperatorsCmd(), "add", "eve", "--role", "customer", "--data", data); err == nil {
		t.Fatal("customer role accepted")
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(data, sqlstore.FileName), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	a := alerts.Alert{ID: "a1", Rule: "crm.async.stopped", Severity: alerts.SeverityCritical, State: alerts.StateNew, RepeatCount: 4,
		FirstSeen: now, LastSeen: now, Hosts: []string{"CRMAPP01"}, Organizations: []string{"Contoso"}, Summary: "Async service stopped"}
	if _, err := st.Commit(ctx, store.Commit{Changes: []alerts.Change{{Kind: alerts.ChangeRaised, Alert: a, At: now, By: a.Rule}}}); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn := []string{"--url", srv.URL, "--token", added["token"]}

	out, err = runCLI(t, newAlertsCmd(), append([]string{"list"}, conn...)...)
	if err != nil || !strings.Contains(out, "ID  ") || !strings.Contains(out, "a1") || !strings.Contains(out, "Contoso") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runCLI(t, newAlertsCmd(), append([]string{"ack", "a1"}, conn...)...)
	if err != nil || !strings.Contains(out, "now acknowledged") {
		t.Fatalf("ack: %v %s", err, out)
	}
	out, err = runCLI(t, newAlertsCmd(), append([]string{"show", "a1", "--json"}, conn...)...)
	var d api.AlertDetail
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || d.Alert.State != alerts.StateAcknowledged || d.History[1].By != "alice" {
		t.Fatalf("show: %v %s", err, out)
	}
	if out, err = runCLI(t, newOperatorsCmd(), "revoke", "alice", "--data", data); err != nil {
		t.Fatal(err, out)
	}
	_, err = runCLI(t, newAlertsCmd(), append([]string{"list"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "invalid or revoked") || strings.Contains(err.Error(), added["token"]) {
		t.Fatalf("revoked token: %v", err)
	}
	log, err := st.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(log) != 3 || log[0].Action != "operator.revoke" || log[1].Action != "alert.acknowledge" || log[2].Action != "operator.add" {
		t.Fatalf("audit %+v %v", log, err)
	}
}
