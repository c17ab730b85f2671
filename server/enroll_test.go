package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/access"
	"crmwatch/agent"
	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/certs"
	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/secret"
	"crmwatch/transport"
)

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestEnrolledAgents: with --nats-auth creds and --tls auto, an admin
// enrolls an agent through the API; the agent runs from its credentials
// file alone and its events raise an alert; the same key publishing for
// another host is refused and the NATS server logs it; a client without a
// key or with an unenrolled one gets nothing; revoking the agent closes its
// connection at once; both are audited; a readonly operator cannot enroll.
func TestEnrolledAgents(t *testing.T) {
	dir := t.TempDir()
	logs := &syncLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, stop, err := Start(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", NATSSyncInterval: time.Second,
		TickEvery: 50 * time.Millisecond, TLS: TLSOptions{Mode: TLSAuto}, NATSAuth: NATSAuthCreds,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	admin, _ := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "alice", Role: access.RoleAdmin, By: "test"})
	noc, _ := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "noc", Role: access.RoleReadonly, By: "test"})
	c, _ := client.New(client.Options{URL: srv.URL(), Token: admin, CA: srv.CAFile()})
	ro, _ := client.New(client.Options{URL: srv.URL(), Token: noc, CA: srv.CAFile()})

	pub, seed, _ := transport.NewUserKey()
	if _, err := ro.Enroll(ctx, api.EnrollRequest{Name: "CRMAPP01", PublicKey: pub}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("readonly enroll: %v", err)
	}
	if _, err := c.Enroll(ctx, api.EnrollRequest{Name: "CRMAPP01", Roles: []string{"Nope"}, PublicKey: "SUAxyz"}); err == nil ||
		!strings.Contains(err.Error(), "not a NATS user public key") || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("bad request: %v", err)
	}
	resp, err := c.Enroll(ctx, api.EnrollRequest{Name: "CRMAPP01", Roles: []string{"AppServer"}, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Enforced || !strings.HasPrefix(resp.NATS, "tls://") || !strings.Contains(resp.CA, "BEGIN CERTIFICATE") {
		t.Fatalf("enroll response: %+v", resp)
	}
	var e *client.Error
	if _, err := c.Enroll(ctx, api.EnrollRequest{Name: "CRMAPP01", PublicKey: pub}); !errors.As(err, &e) || e.Status != http.StatusConflict {
		t.Fatalf("enrolling twice: %v", err)
	}
	credsFile := filepath.Join(t.TempDir(), "CRMAPP01.creds")
	if err := transport.WriteCredentials(credsFile, transport.Credentials{Name: "CRMAPP01", Seed: seed, NATS: resp.NATS, Roles: resp.Agent.Roles, CA: resp.CA}); err != nil {
		t.Fatal(err)
	}

	// The agent runs from the file alone and delivers.
	traceDir := t.TempDir()
	a, err := agent.New(agent.Options{Creds: credsFile, StateDir: t.TempDir(), HeartbeatEvery: 100 * time.Millisecond,
		Factories: []collectors.Factory{tracefiles.NewFactory()}, Set: agent.TraceDirOverrides(traceDir)})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	waitAgent(t, srv, "CRMAPP01")
	writeFile(t, filepath.Join(traceDir, "CRMAPP01-w3wp-CRMWeb-20240501-1.log"), sqlErrorRecords(3))
	openAlert(t, srv, 1)
	if strings.Contains(logs.String(), "Violation") {
		t.Fatalf("the enrolled agent's own work was refused:\n%s", logs.String())
	}

	// The same key cannot speak for another host.
	key, _ := transport.ParseUserKey(seed)
	tlsCfg := tlsFor(t, srv)
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{resp.NATS}, WaitFirst: true, Key: &key, TLS: tlsCfg,
		InboxPrefix: transport.Names{}.InboxPrefix("CRMAPP01")})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	defer fcancel()
	if _, err := js.Publish(fctx, "crmwatch.events.CRMAPP02", []byte("{}")); err == nil {
		t.Fatal("published for another host")
	}
	waitUntil(t, "the refusal in the server log", func() bool {
		return strings.Contains(logs.String(), "Publish Violation") && strings.Contains(logs.String(), "crmwatch.events.CRMAPP02")
	})

	// No key, or a key nobody enrolled: refused.
	if _, err := transport.Connect(transport.ConnectOptions{URLs: []string{resp.NATS}, WaitFirst: true, TLS: tlsCfg}); err == nil {
		t.Fatal("a client without a key connected")
	}
	_, stranger, _ := transport.NewUserKey()
	skey, _ := transport.ParseUserKey(stranger)
	if _, err := transport.Connect(transport.ConnectOptions{URLs: []string{resp.NATS}, WaitFirst: true, TLS: tlsCfg, Key: &skey}); err == nil {
		t.Fatal("an unenrolled key connected")
	}

	// Revoked: disconnected at once, audited.
	if err := c.RevokeAgent(ctx, "CRMAPP01"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "revoked connection closed", func() bool { return !nc.IsConnected() })
	time.Sleep(1500 * time.Millisecond)
	if nc.IsConnected() {
		t.Fatal("the revoked key reconnected")
	}
	entries, err := c.Audit(ctx, client.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "agent.") {
			seen = append(seen, en.Action+" "+en.Target+" by "+en.Actor)
		}
	}
	if strings.Join(seen, ";") != "agent.revoke CRMAPP01 by alice;agent.enroll CRMAPP01 by alice" {
		t.Fatalf("audit: %v", seen)
	}
	list, err := ro.Enrolled(ctx)
	if err != nil || len(list.Agents) != 1 || list.Agents[0].RevokedAt == nil {
		t.Fatalf("enrolled list: %+v %v", list, err)
	}
	acancel()
	<-done
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tlsFor(t *testing.T, srv *Server) *tls.Config {
	t.Helper()
	cfg, err := certs.ClientConfig(certs.ClientOptions{CAFile: srv.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestExternalNATSWithAccounts: against a separate nats-server (the
// machine's Debian 2.9 binary on a free port) configured with what
// `crmwatch agents nats-config --account CRMWATCH` renders, the server
// connects with its --nats-creds and an enrolled agent delivers.
func TestExternalNATSWithAccounts(t *testing.T) {
	const bin = "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not installed (scripts/setup.sh installs it)", bin)
	}
	dir := t.TempDir()
	serverPub, serverSeed, _ := transport.NewUserKey()
	agentPub, agentSeed, _ := transport.NewUserKey()
	serverCreds := filepath.Join(dir, "server.creds")
	if err := transport.WriteCredentials(serverCreds, transport.Credentials{Name: "crmwatch-server", Seed: serverSeed}); err != nil {
		t.Fatal(err)
	}
	names, _ := transport.NewNames("extsec")
	users := transport.Users{Server: serverPub, Agents: []transport.Enrolled{{Name: "CRMAPP01", PublicKey: agentPub}}}
	addr := freeAddr(t)
	conf := fmt.Sprintf("listen: %s\njetstream {\n  store_dir: %q\n  max_file_store: 256MB\n  max_memory_store: 16MB\n}\n", addr, filepath.Join(dir, "js")) +
		users.ServerConfig(names, "CRMWATCH")
	os.WriteFile(filepath.Join(dir, "nats.conf"), []byte(conf), 0o600)
	logs := &syncLog{}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nats.conf"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }() //nolint:errcheck
	url := "nats://" + addr
	waitUntil(t, "nats-server listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(url), Prefix: names.Prefix, TickEvery: 50 * time.Millisecond,
		StreamMaxBytes: 16 << 20}
	if _, _, err := Start(ctx, opts); err == nil || !strings.Contains(err.Error(), "uthorization") {
		t.Fatalf("server without --nats-creds: %v", err)
	}
	opts.NATSCreds = serverCreds
	srv, stop, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	credsFile := filepath.Join(t.TempDir(), "CRMAPP01.creds")
	transport.WriteCredentials(credsFile, transport.Credentials{Name: "CRMAPP01", Seed: agentSeed, NATS: url, Roles: []string{"AppServer"}})
	traceDir := t.TempDir()
	a, err := agent.New(agent.Options{Creds: credsFile, StateDir: t.TempDir(), HeartbeatEvery: 100 * time.Millisecond, Prefix: names.Prefix,
		Factories: []collectors.Factory{tracefiles.NewFactory()}, Set: agent.TraceDirOverrides(traceDir)})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	waitAgent(t, srv, "CRMAPP01")
	writeFile(t, filepath.Join(traceDir, "CRMAPP01-w3wp-CRMWeb-20240501-1.log"), sqlErrorRecords(3))
	openAlert(t, srv, 1)
	if strings.Contains(logs.String(), "Violation") {
		t.Fatalf("refused on the external NATS:\n%s", logs.String())
	}
	acancel()
	<-done
}

func sqlErrorRecords(n int) string {
	var rec strings.Builder
	for i := range n {
		fmt.Fprintf(&rec, "[2024-05-01 10:00:%02d.000] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread: 13 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Error |ReqId: | CrmDbConnection.InternalExecuteReader ilOffset = 0x16\r\n>rec %d\r\n", i, i)
	}
	return rec.String()
}
