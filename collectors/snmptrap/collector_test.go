package snmptrap

import (
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
)

func TestV2cTrapBecomesMappedEvent(t *testing.T) {
	c, _, s := start(t, testConfig(), collectors.Settings{Roles: []string{"AppServer"}})
	send(t, v2cSender(t, c.Addr(), community), linkDown())
	ev := s.wait(t, 1, 5*time.Second)[0]
	if ev.Source != event.SourceSNMP || ev.Category != "linkDown" || ev.Level != event.LevelError {
		t.Fatalf("event %+v: want source snmp, category linkDown, level error", ev)
	}
	if ev.Host != "CRMAPP01" || ev.Role != "AppServer" {
		t.Errorf("a trap from this machine is about the agent's host: got host %q role %q", ev.Host, ev.Role)
	}
	if ev.Fields["vb.ifIndex.2"] != "2" || ev.Fields["vb.ifDescr.2"] != "eth1" || ev.Fields["snmp_version"] != "2c" {
		t.Errorf("fields %v: want the varbinds by name and the version", ev.Fields)
	}
	if ev.Message != "A network interface went down. (ifIndex.2=2, ifDescr.2=eth1)" {
		t.Errorf("message %q", ev.Message)
	}
	if ev.Origin.Collector != Type {
		t.Errorf("origin %+v", ev.Origin)
	}
}

func TestV1TrapGetsItsV2OID(t *testing.T) {
	c, _, s := start(t, testConfig(), collectors.Settings{})
	g := sender(t, c.Addr(), &gosnmp.GoSNMP{Version: gosnmp.Version1, Community: community})
	send(t, g, gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.8072.2.3", AgentAddress: "10.0.0.7", GenericTrap: 2, Timestamp: 77,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2}}})
	send(t, g, gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.8072.2.3", AgentAddress: "10.0.0.7", GenericTrap: 6, SpecificTrap: 17})
	evs := s.wait(t, 2, 5*time.Second)
	if evs[0].Category != "linkDown" || evs[0].Fields["trap_oid"] != "1.3.6.1.6.3.1.1.5.3" || evs[0].Level != event.LevelError {
		t.Errorf("generic trap 2 is linkDown (RFC 3584): %+v", evs[0])
	}
	if evs[1].Fields["trap_oid"] != "1.3.6.1.4.1.8072.2.3.0.17" || evs[1].Level != event.LevelInfo {
		t.Errorf("an enterprise trap is enterprise.0.specific, unknown ones at info: %+v", evs[1])
	}
}

func TestV3UsersAndEngines(t *testing.T) {
	c, reg, s := start(t, testConfig(), collectors.Settings{})
	a := c.Addr()
	engine, engine2 := unhex(t, engineHex), unhex(t, engineHex2)
	// authPriv (SHA/AES), from any engine.
	send(t, v3Sender(t, a, "alice", engine, gosnmp.SHA, authKey, gosnmp.AES, privKey), linkDown())
	// authNoPriv (SHA-256), bound to its engine id.
	send(t, v3Sender(t, a, "bob", engine2, gosnmp.SHA256, authKey+"b", gosnmp.NoPriv, ""), linkDown())
	// MD5/DES.
	send(t, v3Sender(t, a, "carol", engine2, gosnmp.MD5, authKey+"c", gosnmp.DES, privKey+"c"), linkDown())
	evs := s.wait(t, 3, 5*time.Second)
	users := map[string]bool{}
	for _, ev := range evs {
		users[ev.Fields["user"]] = ev.Fields["snmp_version"] == "3" && ev.Category == "linkDown"
	}
	if !users["alice"] || !users["bob"] || !users["carol"] {
		t.Fatalf("want one v3 linkDown per user, got %v", users)
	}

	refused := []struct {
		g      *gosnmp.GoSNMP
		reason string
	}{
		{v3Sender(t, a, "alice", engine, gosnmp.SHA, "wrong-auth-key", gosnmp.AES, privKey), ReasonAuthentication},
		{v3Sender(t, a, "alice", engine, gosnmp.SHA, authKey, gosnmp.AES, "wrong-priv-key"), ReasonAuthentication},
		{v3Sender(t, a, "alice", engine, gosnmp.SHA, authKey, gosnmp.NoPriv, ""), ReasonSecurityLevel},
		{v3Sender(t, a, "bob", engine, gosnmp.SHA256, authKey+"b", gosnmp.NoPriv, ""), ReasonUnknownEngine},
		{v3Sender(t, a, "mallory", engine, gosnmp.SHA, authKey, gosnmp.NoPriv, ""), ReasonUnknownUser},
		{v3Sender(t, a, "bob", engine2, gosnmp.NoAuth, "", gosnmp.NoPriv, ""), ReasonSecurityLevel},
		{v2cSender(t, a, "public"), ReasonUnknownCommunity},
	}
	for _, r := range refused {
		send(t, r.g, linkDown())
	}
	want := map[string]float64{}
	for _, r := range refused {
		want[r.reason]++
	}
	waitFor(t, func() bool {
		for reason, n := range want {
			if testutil.ToFloat64(c.m.rejected.WithLabelValues(reason)) != n {
				return false
			}
		}
		return true
	})
	if n := len(s.snapshot()); n != 3 {
		t.Errorf("%d events: refused traps must not become events", n)
	}
	if got := testutil.ToFloat64(c.m.traps.WithLabelValues("3")); got != 3 {
		t.Errorf("v3 traps accepted = %v, want 3", got)
	}
	if n, err := testutil.GatherAndCount(reg, "crmwatch_snmptrap_rejected_total"); err != nil || n != len(Reasons) {
		t.Errorf("every reason is pre-initialised: %d series, %v", n, err)
	}
}

func TestInformIsAnswered(t *testing.T) {
	c, _, s := start(t, testConfig(), collectors.Settings{})
	g := v2cSender(t, c.Addr(), community)
	trap := linkDown()
	trap.IsInform = true
	res, err := g.SendTrap(trap)
	if err != nil {
		t.Fatalf("inform not answered: %v", err)
	}
	if res.PDUType != gosnmp.GetResponse {
		t.Errorf("response PDU %v", res.PDUType)
	}
	if ev := s.wait(t, 1, 5*time.Second)[0]; ev.Category != "linkDown" {
		t.Errorf("inform event %+v", ev)
	}
}

func TestHostsAndUnknownTraps(t *testing.T) {
	cfg := testConfig()
	cfg.Hosts = map[string]string{"127.0.0.1": "CRMSQL01"}
	cfg.UnknownLevel = "warning"
	c, _, s := start(t, cfg, collectors.Settings{})
	trap := linkDown()
	trap.Variables[1].Value = ".1.3.6.1.4.1.99999.1.2"
	send(t, v2cSender(t, c.Addr(), community), trap)
	ev := s.wait(t, 1, 5*time.Second)[0]
	if ev.Host != "CRMSQL01" {
		t.Errorf("host %q: the hosts entry names the sender", ev.Host)
	}
	if ev.Category != "1.3.6.1.4.1.99999.1.2" || ev.Level != event.LevelWarning {
		t.Errorf("an unknown trap is an event named by its OID at unknown_level: %+v", ev)
	}
	if testutil.ToFloat64(c.m.unknown) != 1 {
		t.Error("unknown traps are counted")
	}
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
