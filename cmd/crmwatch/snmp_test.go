package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestSNMPListenPrintsTraps runs `crmwatch snmp listen --json` with a
// community and a v3 user, sends a v2c and a v3 authPriv trap and one with
// a wrong key, and reads one JSON object per accepted trap and the refusal
// count at the end.
func TestSNMPListenPrintsTraps(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(cfg, []byte(`collectors:
  snmptrap:
    traps: [{oid: 1.3.6.1.4.1.99999.0.7, name: asyncStalled, level: critical}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bg := runBackground("snmp", "listen", "--listen", "127.0.0.1:0", "--config", cfg, "--json",
		"--community", "c0mmunity-marker", "--v3-user", "alice:SHA:auth-key-marker:AES:priv-key-marker")
	addrRE := regexp.MustCompile(`on 127\.0\.0\.1:(\d+)`)
	var port string
	eventually(t, 5*time.Second, "listening line", func() bool {
		m := addrRE.FindStringSubmatch(bg.err.String())
		if m != nil {
			port = m[1]
		}
		return m != nil
	})
	send := func(g *gosnmp.GoSNMP) {
		t.Helper()
		g.Target, g.Timeout, g.Retries = "127.0.0.1", time.Second, 0
		var p int
		for _, c := range port {
			p = p*10 + int(c-'0')
		}
		g.Port = uint16(p)
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		defer g.Conn.Close()
		if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.99999.0.7"},
			{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	v3 := func(authKey string) *gosnmp.GoSNMP {
		return &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
			SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "alice", AuthoritativeEngineID: "\x80\x00\x00\x00\x01\x02\x03",
				AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: authKey, PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "priv-key-marker"}}
	}
	send(&gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "c0mmunity-marker"})
	send(v3("auth-key-marker"))
	send(v3("wrong-auth-key"))
	eventually(t, 5*time.Second, "two traps printed", func() bool { return strings.Count(bg.out.String(), "\n") >= 2 })
	time.Sleep(100 * time.Millisecond)
	if code := bg.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, bg.err.String())
	}
	lines := strings.Split(strings.TrimSpace(bg.out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 traps, got:\n%s", bg.out.String())
	}
	for i, version := range []string{"2c", "3"} {
		var tr struct {
			Version, Source, TrapOID, TrapName string `json:",omitempty"`
			Varbinds                           []struct{ OID, Name, Type, Value string }
		}
		if err := json.Unmarshal([]byte(lines[i]), &tr); err != nil {
			t.Fatal(err)
		}
		if tr.Version != version || !strings.HasPrefix(tr.Source, "127.0.0.1:") || len(tr.Varbinds) != 1 || tr.Varbinds[0].Name != "ifIndex.2" {
			t.Errorf("trap %d: %s", i, lines[i])
		}
	}
	if !strings.Contains(lines[0], `"trap_oid":"1.3.6.1.4.1.99999.0.7","trap_name":"asyncStalled"`) {
		t.Errorf("the mapping from --config names the trap: %s", lines[0])
	}
	if !strings.Contains(bg.err.String(), "2 traps accepted, 1 refused (authentication 1)") {
		t.Errorf("summary: %s", bg.err.String())
	}
	all := bg.out.String() + bg.err.String()
	for _, s := range []string{"c0mmunity-marker", "auth-key-marker", "priv-key-marker"} {
		if strings.Contains(all, s) {
			t.Errorf("secret %s printed", s)
		}
	}
}

func TestSNMPListenMistakes(t *testing.T) {
	r := runRoot(t, "snmp", "listen", "--listen", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "add a community (v1/v2c) or a v3 user") {
		t.Errorf("no credentials: %d %s", r.code, r.stderr)
	}
	r = runRoot(t, "snmp", "listen", "--v3-user", "alice:SHA:tooshrt:AES:priv-key-marker")
	if r.code == 0 || !strings.Contains(r.stderr, "auth_key: 7 characters, USM needs at least 8") || strings.Contains(r.stderr, "tooshrt") || strings.Contains(r.stderr, "priv-key-marker") {
		t.Errorf("short key: %d %s", r.code, r.stderr)
	}
}
