// Package traptest gives tests Debian's snmptrapd on a free loopback port,
// loading the repository's CRMWATCH-MIB (and the IETF base MIBs it needs,
// which Debian leaves to the non-free snmp-mibs-downloader), so traps are
// logged decoded by name.
package traptest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// MIBDirs is net-snmp's -M argument for CRMWATCH-MIB.
func MIBDirs() string {
	_, file, _, _ := runtime.Caller(0)
	base := filepath.Dir(filepath.Dir(file)) // notify/snmptrap
	return "+" + filepath.Join(base, "testdata", "mibs") + ":" + filepath.Join(base, "mibs")
}

// Tool finds a net-snmp tool; without it the test is skipped, except
// under CI where that is a failure.
func Tool(t testing.TB, tool string) string {
	t.Helper()
	for _, p := range []string{tool, "/usr/sbin/" + tool, "/usr/bin/" + tool} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI (scripts/setup.sh installs snmp and snmptrapd)", tool)
	}
	t.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
	return ""
}

// Trapd is a running snmptrapd.
type Trapd struct {
	Addr string
	mu   sync.Mutex
	out  bytes.Buffer
}

func (d *Trapd) Write(p []byte) (int, error) { d.mu.Lock(); defer d.mu.Unlock(); return d.out.Write(p) }

// Text is what snmptrapd logged so far.
func (d *Trapd) Text() string { d.mu.Lock(); defer d.mu.Unlock(); return d.out.String() }

// Start runs snmptrapd with conf (snmptrapd.conf lines) until the test ends.
func Start(t testing.TB, conf string) *Trapd {
	t.Helper()
	bin := Tool(t, "snmptrapd")
	dir := t.TempDir()
	cf := filepath.Join(dir, "snmptrapd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	d := &Trapd{Addr: addr}
	cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", cf, "-M", MIBDirs(), "-m", "+CRMWATCH-MIB", "-p", filepath.Join(dir, "pid"), "udp:"+addr)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir)
	cmd.Stdout, cmd.Stderr = d, d
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Text(), "NET-SNMP version") {
		if time.Now().After(deadline) {
			t.Fatalf("snmptrapd did not start:\n%s", d.Text())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// Wait waits until snmptrapd logged every one of wants; it fails the test
// naming the first missing one.
func (d *Trapd) Wait(t testing.TB, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := d.Text()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmptrapd did not log %q:\n%s", missing, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
