// Package amtest gives tests a real Prometheus Alertmanager (Debian's
// prometheus-alertmanager, installed by scripts/setup.sh) on a free
// loopback port, stopped when the test ends.
package amtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Instance is a real Alertmanager (Debian's prometheus-alertmanager)
// started for a test on a free loopback port.
type Instance struct {
	URL string
	cmd *exec.Cmd
}

// Start runs Debian's Alertmanager until the test ends; without it the
// test is skipped, except under CI where that is a failure.
func Start(t testing.TB) *Instance {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus-alertmanager is required under CI (scripts/setup.sh installs it)")
		}
		t.Skip("prometheus-alertmanager not installed (scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(cfg, []byte("route: {receiver: none, group_wait: 0s}\nreceivers: [{name: none}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+dir, "--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	in := &Instance{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager at %s not ready: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the Alertmanager (tests of a peer that went away).
func (in *Instance) Stop() {
	_ = in.cmd.Process.Kill()
	_ = in.cmd.Wait()
}
