package snmptrap

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
)

// snmptrapTool is net-snmp's snmptrap (Debian package snmp).
func snmptrapTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("snmptrap"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("snmptrap is not installed but CI is set: run scripts/setup.sh (Debian package snmp)")
	}
	t.Skip("snmptrap not found (Debian package snmp, installed by scripts/setup.sh)")
	return ""
}

// netsnmp runs snmptrap with args before the address and the linkDown
// notification after it.
func netsnmp(t *testing.T, tool, addr string, args ...string) {
	t.Helper()
	// Numeric OIDs and no MIB loading; net-snmp keeps its engine state in
	// a private folder.
	full := append([]string{"-m", ""}, args...)
	full = append(full, addr)
	if args[1] == "1" {
		// v1: enterprise, agent address, generic trap 2 (linkDown), specific 0, uptime.
		full = append(full, "1.3.6.1.4.1.8072.2.3", "127.0.0.1", "2", "0", "")
	} else {
		full = append(full, "", "1.3.6.1.6.3.1.1.5.3")
	}
	full = append(full, "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "eth1")
	cmd := exec.Command(tool, full...)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+t.TempDir(), "SNMPCONFPATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap %s: %v\n%s", strings.Join(full, " "), err, out)
	}
}

// TestNetSNMPSender receives the real snmptrap of net-snmp in v1, v2c and
// v3 authPriv, and refuses (and counts) a v3 trap with a wrong key.
func TestNetSNMPSender(t *testing.T) {
	tool := snmptrapTool(t)
	c, _, s := start(t, testConfig(), collectors.Settings{})
	addr := c.Addr().String()
	netsnmp(t, tool, addr, "-v", "1", "-c", community)
	netsnmp(t, tool, addr, "-v", "2c", "-c", community)
	v3 := func(auth, priv string) []string {
		return []string{"-v", "3", "-e", "0x" + engineHex, "-u", "alice", "-l", "authPriv", "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv}
	}
	netsnmp(t, tool, addr, v3(authKey, privKey)...)
	evs := s.wait(t, 3, 10*time.Second)
	for i, version := range []string{"1", "2c", "3"} {
		ev := evs[i]
		if ev.Fields["snmp_version"] != version || ev.Category != "linkDown" || ev.Level != event.LevelError ||
			ev.Fields["vb.ifIndex.2"] != "2" || ev.Fields["vb.ifDescr.2"] != "eth1" {
			t.Errorf("trap %d: want a v%s linkDown for ifIndex 2 (eth1): %+v", i, version, ev)
		}
	}
	if evs[2].Fields["user"] != "alice" || evs[2].Fields["engine_id"] != engineHex {
		t.Errorf("v3 trap: user %q engine %q", evs[2].Fields["user"], evs[2].Fields["engine_id"])
	}

	netsnmp(t, tool, addr, v3("wrong-auth-key", privKey)...)
	netsnmp(t, tool, addr, v3(authKey, "wrong-priv-key")...)
	waitFor(t, func() bool { return testutil.ToFloat64(c.m.rejected.WithLabelValues(ReasonAuthentication)) == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := len(s.snapshot()); n != 3 {
		t.Errorf("%d events after wrong-key traps, want 3: %v", n, fmt.Sprint(s.snapshot()[3:]))
	}
}
