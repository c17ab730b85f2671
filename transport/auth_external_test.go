package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const debianNATSServer = "/usr/sbin/nats-server"

// TestGeneratedConfigOnNATSServer: the authorization block Users.ServerConfig
// renders (what `crmwatch agents nats-config` prints) makes a separate
// nats-server — the machine's Debian 2.9 binary on a free port — enforce
// what the embedded server enforces: the agent does its job and no more,
// and the refusal is in nats-server's log.
func TestGeneratedConfigOnNATSServer(t *testing.T) {
	if _, err := os.Stat(debianNATSServer); err != nil {
		t.Skipf("%s not installed (scripts/setup.sh installs it)", debianNATSServer)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var rnd [4]byte
	rand.Read(rnd[:])
	names, _ := NewNames("sec" + hex.EncodeToString(rnd[:]))
	serverPub, serverSeed, _ := NewUserKey()
	agentPub, agentSeed, _ := NewUserKey()
	users := Users{Server: serverPub, Agents: []Enrolled{{Name: "CRMAPP01", PublicKey: agentPub}}}
	dir := t.TempDir()
	confFile := filepath.Join(dir, "nats.conf")
	writeConf := func(u Users) {
		conf := fmt.Sprintf("listen: %s\njetstream {\n  store_dir: %q\n  max_file_store: 256MB\n  max_memory_store: 16MB\n}\n", addr, filepath.Join(dir, "js")) +
			u.ServerConfig(names, "")
		if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(users)
	logs := &logBuffer{}
	cmd := exec.Command(debianNATSServer, "-c", confFile)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	url := "nats://" + addr
	skey, _ := ParseUserKey(serverSeed)
	var sc = ConnectOptions{URLs: []string{url}, WaitFirst: true, Key: &skey}
	deadline := time.Now().Add(15 * time.Second)
	nc, err := Connect(sc)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		nc, err = Connect(sc)
	}
	if err != nil {
		t.Fatalf("server user: %v\n%s", err, logs.String())
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Setup(ctx, js, names, StreamLimits{MaxBytes: 16 << 20}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Teardown(context.Background(), js, names) }) //nolint:errcheck

	akey, _ := ParseUserKey(agentSeed)
	anc, err := Connect(ConnectOptions{URLs: []string{url}, WaitFirst: true, Key: &akey, InboxPrefix: names.InboxPrefix("CRMAPP01")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anc.Close)
	checkAgentPermissions(t, js, anc, names, logs.String)

	if _, err := Connect(ConnectOptions{URLs: []string{url}, WaitFirst: true}); err == nil {
		t.Error("a client without a key connected")
	}

	// Revoked: the configuration generated again without the agent and
	// nats-server reloaded (SIGHUP) closes its connection.
	writeConf(Users{Server: serverPub})
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "revoked agent disconnected by the reload", func() bool { return !anc.IsConnected() })
}
