package snmptrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// The net-snmp MIBs in testdata/mibs are the ones Debian's snmp package
// ships; their OIDs are counted by hand from the files.
func TestLoadMIBsResolvesNames(t *testing.T) {
	m, err := LoadMIBs(filepath.Join("testdata", "mibs"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"NET-SNMP-EXAMPLES-MIB::netSnmpExampleHeartbeatNotification": "1.3.6.1.4.1.8072.2.3.0.1",
		"netSnmpExampleHeartbeatRate":                                "1.3.6.1.4.1.8072.2.3.2.1",
		"NET-SNMP-AGENT-MIB::nsNotifyStart":                          "1.3.6.1.4.1.8072.4.0.1",
		"nsNotifyShutdown":                                           "1.3.6.1.4.1.8072.4.0.2",
		"IF-MIB::linkDown":                                           "1.3.6.1.6.3.1.1.5.3", // built in
		".1.3.6.1.2.1.1.3.0":                                         "1.3.6.1.2.1.1.3.0",
	} {
		if got, ok := m.Resolve(name); !ok || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", name, got, ok, want)
		}
	}
	if _, ok := m.Resolve("netSnmpExamplesCommentedOut"); ok {
		t.Error("an unknown name must not resolve")
	}
	if got := m.Name("1.3.6.1.4.1.8072.2.3.2.1.0"); got != "netSnmpExampleHeartbeatRate.0" {
		t.Errorf("Name of an instance = %q", got)
	}
	if len(m.Warnings) != 0 {
		t.Errorf("every definition of the three files resolves: %v", m.Warnings)
	}
}

func TestParseMIBForms(t *testing.T) {
	src := `CRM-TEST-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM RFC1155-SMI TRAP-TYPE FROM RFC-1215;
-- a comment with ::= { fake 1 } inside
crmFake OBJECT IDENTIFIER -- ::= { enterprises 1 } -- ::= { enterprises 98 }
crmTest OBJECT IDENTIFIER ::= { enterprises 99999 }
crmAsyncStalled TRAP-TYPE
    ENTERPRISE crmTest
    VARIABLES { crmQueue }
    DESCRIPTION "The async service stopped: ::= { not 1 } -- not a comment"
    ::= 7
crmAbsolute OBJECT IDENTIFIER ::= { iso(1) org(3) dod(6) 1 4 1 99999 2 }
crmNumbers OBJECT IDENTIFIER ::= { 1 3 6 1 4 1 99999 3 }
crmOrphan OBJECT IDENTIFIER ::= { nowhere 1 }
END`
	dir := t.TempDir()
	path := filepath.Join(dir, "CRM-TEST-MIB.txt")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMIBs(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"CRM-TEST-MIB::crmAsyncStalled": "1.3.6.1.4.1.99999.0.7", // v1 enterprise.0.specific
		"crmTest":                       "1.3.6.1.4.1.99999",
		"crmAbsolute":                   "1.3.6.1.4.1.99999.2",
		"crmNumbers":                    "1.3.6.1.4.1.99999.3",
		"crmFake":                       "1.3.6.1.4.1.98", // a comment ends at the next --
	} {
		if got, ok := m.Resolve(name); !ok || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", name, got, ok, want)
		}
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "crmOrphan") {
		t.Errorf("warnings %v: want the orphan named", m.Warnings)
	}
	if _, err := LoadMIBs(filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a missing MIB file is named: %v", err)
	}
}

// TestMappingByMIBName maps a trap by a name a MIB file defines, and names
// an unmapped trap and its bindings from the MIB.
func TestMappingByMIBName(t *testing.T) {
	cfg := testConfig()
	cfg.MIBs = []string{filepath.Join("testdata", "mibs")}
	cfg.Traps = append(cfg.Traps,
		collectors.TrapMapping{OID: "NET-SNMP-EXAMPLES-MIB::netSnmpExampleHeartbeatNotification", Name: "heartbeat", Level: "verbose"},
		collectors.TrapMapping{OID: "NO-SUCH-MIB::nothing", Name: "never", Level: "error"})
	c, _, s := start(t, cfg, collectors.Settings{})
	g := v2cSender(t, c.Addr(), community)
	trap := linkDown()
	trap.Variables[1].Value = ".1.3.6.1.4.1.8072.2.3.0.1"
	trap.Variables = append(trap.Variables[:2], gosnmpInt(".1.3.6.1.4.1.8072.2.3.2.1.0", 60))
	send(t, g, trap)
	trap.Variables[1].Value = ".1.3.6.1.4.1.8072.4.0.1"
	send(t, g, trap)
	evs := s.wait(t, 2, 5*time.Second)
	if evs[0].Category != "heartbeat" || evs[0].Level != event.LevelVerbose || evs[0].Fields["vb.netSnmpExampleHeartbeatRate.0"] != "60" {
		t.Errorf("mapped by MIB name: %+v", evs[0])
	}
	if evs[1].Category != "nsNotifyStart" || evs[1].Level != event.LevelInfo {
		t.Errorf("an unmapped trap is named by the MIB: %+v", evs[1])
	}
}
