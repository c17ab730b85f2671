package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/api/client"
	"crmwatch/certs"
	"crmwatch/transport"
)

// TestTLSAuto: --tls auto serves the API over HTTPS and the embedded NATS
// over TLS with a private CA in <data>/tls; a client and an agent with that
// CA work, a client with another CA is refused with what to do, a plain
// HTTP client gets nothing, and a restart keeps the CA.
func TestTLSAuto(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := Options{DataDir: dir, Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", NATSSyncInterval: time.Second,
		TickEvery: 50 * time.Millisecond, TLS: TLSOptions{Mode: TLSAuto}}
	srv, stop, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "tls", certs.CAFile)
	if srv.CAFile() != caFile || !strings.HasPrefix(srv.URL(), "https://") || !strings.HasPrefix(srv.NATSURL().Reveal(), "tls://") {
		t.Fatalf("CA %q, API %q, NATS %q", srv.CAFile(), srv.URL(), srv.NATSURL())
	}
	tok, err := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "noc", Role: access.RoleReadonly, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	good, err := client.New(client.Options{URL: srv.URL(), Token: tok, CA: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Alerts(ctx, client.AlertsQuery{}); err != nil {
		t.Fatalf("client with the server's CA: %v", err)
	}
	other, err := certs.Auto(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := client.New(client.Options{URL: srv.URL(), Token: tok, CA: other.CAFile})
	_, err = bad.Alerts(ctx, client.AlertsQuery{})
	if err == nil || !strings.Contains(err.Error(), "not signed by the CA in "+other.CAFile) || !strings.Contains(err.Error(), "--ca FILE") {
		t.Fatalf("client with another CA: %v", err)
	}
	plain, _ := client.New(client.Options{URL: "http://" + srv.HTTPAddr(), Token: tok})
	if _, err := plain.Alerts(ctx, client.AlertsQuery{}); err == nil {
		t.Fatal("plain HTTP to the HTTPS API answered")
	}

	// The agent over TLS: registers with the right CA (the nats:// URL is
	// upgraded because the server requires TLS).
	natsURL := srv.NATSURL()
	a, err := agent.New(agent.Options{NATS: natsURL, CA: caFile, Name: "TLSAPP01", Roles: []string{"AppServer"}, StateDir: t.TempDir(),
		HeartbeatEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	waitAgent(t, srv, "TLSAPP01")
	acancel()
	if err := <-done; err != nil {
		t.Fatalf("agent: %v", err)
	}
	// A client with another CA cannot connect to NATS, and says why.
	otherTLS, _ := certs.ClientConfig(certs.ClientOptions{CAFile: other.CAFile})
	_, err = transport.Connect(transport.ConnectOptions{URLs: []string{natsURL.Reveal()}, WaitFirst: true, TLS: otherTLS, CAFile: other.CAFile})
	if err == nil || !strings.Contains(err.Error(), "not signed by the CA in "+other.CAFile) {
		t.Fatalf("NATS client with another CA: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restart reuses the CA: clients keep their ca.pem.
	before, _ := os.ReadFile(caFile)
	srv2, stop2, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	after, _ := os.ReadFile(caFile)
	if string(before) != string(after) {
		t.Fatal("restart replaced the CA")
	}
	good2, _ := client.New(client.Options{URL: srv2.URL(), Token: tok, CA: caFile})
	if _, err := good2.Alerts(ctx, client.AlertsQuery{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestAgentRefusesInsecure: the agent has no way to skip verification.
func TestAgentRefusesInsecure(t *testing.T) {
	_, err := agent.New(agent.Options{InsecureSkipVerify: true, Name: "X", StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--insecure-skip-verify is refused for the agent") || !strings.Contains(err.Error(), "--ca FILE") {
		t.Fatalf("got %v", err)
	}
}

func waitAgent(t *testing.T, srv *Server, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range srv.Agents() {
			if r.Name == name {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("agent %s never registered", name)
}
