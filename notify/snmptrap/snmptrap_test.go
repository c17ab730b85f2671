package snmptrap

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/snmptrap/traptest"
	"crmwatch/secret"
)

// net-snmp loads CRMWATCH-MIB: every object and notification resolves to
// the OIDs the receiver sends.
func TestMIBLoads(t *testing.T) {
	bin := traptest.Tool(t, "snmptranslate")
	for name, oid := range map[string]string{
		"crmwatchAlertFiring": OIDFiring, "crmwatchAlertResolved": OIDResolved,
		"crmwatchAlertId": oidObjects + "1", "crmwatchAlertRule": oidObjects + "2", "crmwatchAlertSeverity": oidObjects + "3",
		"crmwatchAlertState": oidObjects + "4", "crmwatchAlertHost": oidObjects + "5", "crmwatchAlertOrganization": oidObjects + "6",
		"crmwatchAlertSummary": oidObjects + "7", "crmwatchAlertChange": oidObjects + "8", "crmwatchAlertConsoleURL": oidObjects + "9",
	} {
		out, err := exec.Command(bin, "-M", traptest.MIBDirs(), "-m", "+CRMWATCH-MIB", "-On", "CRMWATCH-MIB::"+name).Output()
		if err != nil || strings.TrimSpace(string(out)) != "."+oid {
			t.Errorf("snmptranslate %s = %q (%v), want .%s", name, out, err, oid)
		}
	}
}

func sample(st notify.Status) notify.Notification {
	a := alerts.Alert{ID: "01HXTRAP", Rule: "crm.trace.sql-error", Severity: alerts.SeverityCritical, State: alerts.StateNew,
		Hosts: []string{"CRMAPP01", "CRMAPP02"}, Organizations: []string{"guid-1"}, Summary: "SQL timeouts on CRMAPP01 — Contoso"}
	if st == notify.StatusResolved {
		a.State = alerts.StateResolved
	}
	return notify.Notification{ID: "crmwatch-change-3", Kind: alerts.ChangeRaised, Status: st, Alert: a,
		OrganizationNames: []string{"Contoso"}, ConsoleURL: "https://crmwatch.example/alerts/01HXTRAP"}
}

var decoded = []string{
	"CRMWATCH-MIB::crmwatchAlertId = STRING: 01HXTRAP",
	"CRMWATCH-MIB::crmwatchAlertRule = STRING: crm.trace.sql-error",
	"CRMWATCH-MIB::crmwatchAlertSeverity = INTEGER: critical(4)",
	"CRMWATCH-MIB::crmwatchAlertHost = STRING: CRMAPP01,CRMAPP02",
	"CRMWATCH-MIB::crmwatchAlertOrganization = STRING: Contoso",
	"CRMWATCH-MIB::crmwatchAlertSummary = STRING: SQL timeouts on CRMAPP01",
}

func TestTrapV2c(t *testing.T) {
	const community = "comm-7741"
	d := traptest.Start(t, "authCommunity log "+community+"\n")
	r := New("nms", Config{Target: "udp:" + d.Addr, Community: secret.New(community)})
	if retry, err := r.Notify(context.Background(), []notify.Notification{sample(notify.StatusFiring)}); err != nil {
		t.Fatal(retry, err)
	}
	d.Wait(t, append([]string{"SNMPv2-MIB::snmpTrapOID.0 = OID: CRMWATCH-MIB::crmwatchAlertFiring", "crmwatchAlertState = INTEGER: new(1)"}, decoded...)...)
	if _, err := r.Notify(context.Background(), []notify.Notification{sample(notify.StatusResolved)}); err != nil {
		t.Fatal(err)
	}
	d.Wait(t, "OID: CRMWATCH-MIB::crmwatchAlertResolved", "crmwatchAlertState = INTEGER: resolved(3)")
}

// v3 authPriv: snmptrapd knows crmwatch's engine id and user; a trap with
// a wrong password is not logged.
func TestTrapV3AuthPriv(t *testing.T) {
	const auth, priv = "auth-pass-3311", "priv-pass-3311"
	d := traptest.Start(t, fmt.Sprintf("createUser -e 0x%s crmwatch SHA %s AES %s\nauthUser log crmwatch priv\n", DefaultEngineID, auth, priv))
	cfg := Config{Target: "udp:" + d.Addr, Version: "v3", User: "crmwatch", AuthPassword: secret.New(auth), PrivPassword: secret.New(priv)}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New("nms", cfg).Notify(context.Background(), []notify.Notification{sample(notify.StatusFiring)}); err != nil {
		t.Fatal(err)
	}
	d.Wait(t, append([]string{"OID: CRMWATCH-MIB::crmwatchAlertFiring"}, decoded...)...)
	bad := cfg
	bad.PrivPassword = secret.New("wrong-priv-pass")
	n := sample(notify.StatusResolved)
	if _, err := New("nms", bad).Notify(context.Background(), []notify.Notification{n}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(d.Text(), "crmwatchAlertResolved") {
		t.Fatalf("a trap with the wrong privacy password was accepted:\n%s", d.Text())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want []string
	}{
		{Config{}, []string{"target: required", "community: required"}},
		{Config{Target: "tcp:h:1", Community: secret.New("c")}, []string{"only udp"}},
		{Config{Target: "udp:h:99999", Community: secret.New("c")}, []string{"port from 1 to 65535"}},
		{Config{Target: "udp:h:162", Version: "v1"}, []string{`version "v1"`}},
		{Config{Target: "udp:h:162", Version: "v3", AuthProtocol: "SHA1", PrivPassword: secret.New("short"), EngineID: "zz"},
			[]string{"user: required", `auth_protocol "SHA1"`, "auth_password: required", "priv_password", `engine_id "zz"`}},
	} {
		err := tc.c.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v; want %q", tc.c, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("password repeated: %v", err)
		}
	}
	if h, p, err := ParseTarget("nms.example"); err != nil || h != "nms.example" || p != 162 {
		t.Fatalf("default port: %s %d %v", h, p, err)
	}
}

func TestVarbindsCutLongText(t *testing.T) {
	n := sample(notify.StatusFiring)
	n.Alert.Summary = strings.Repeat("é", 600) // 1200 bytes
	vs := Varbinds(n, time.Second)
	s := vs[2+objSummary-1].Value.(string)
	if len(s) > maxText || !strings.HasPrefix(n.Alert.Summary, s) || len(s) < maxText-1 {
		t.Fatalf("summary cut to %d bytes", len(s))
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"udp:nms:162", "nms", "udp:[::1]:1162", "tcp:x:1", "udp:h:0", ":162", "udp::", "udp:h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, p, err := ParseTarget(s)
		if err == nil && (h == "" || p <= 0 || p > 65535) {
			t.Fatalf("%q accepted as %q %d", s, h, p)
		}
	})
}
