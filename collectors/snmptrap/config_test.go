package snmptrap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"crmwatch/collectors"
	"crmwatch/secret"
)

func TestDefaultConfigAsksForCredentials(t *testing.T) {
	err := DefaultConfig().Validate()
	if err == nil || !strings.Contains(err.Error(), "add a community (v1/v2c) or a v3 user") {
		t.Fatalf("a receiver without credentials refuses everything; say so: %v", err)
	}
}

func TestValidateReportsEveryProblemWithoutSecrets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "nonsense"
	cfg.Communities = []secret.Value{{}}
	cfg.Users = []User{
		{Name: "u1", AuthProtocol: "sha1024", AuthKey: secret.New("short-" + authKey[:1])},
		{Name: "u2", AuthProtocol: "sha", AuthKey: secret.New(authKey), PrivProtocol: "rot13", PrivKey: secret.New(privKey)},
		{Name: "u3", AuthProtocol: "sha", AuthKey: secret.New(authKey), PrivKey: secret.New(privKey), EngineIDs: []string{"0x12"}},
	}
	cfg.Traps = []collectors.TrapMapping{{OID: "1.3.x", Level: "loud"}}
	cfg.UnknownLevel = "unknown"
	cfg.Hosts = map[string]string{"crm01": "CRM01"}
	cfg.QueueSize, cfg.BatchSize, cfg.FlushInterval, cfg.ReadBuffer = 1, 0, 0, 1
	cfg.MIBs = []string{"/no/such/mib"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`listen "nonsense"`, "communities[0]: empty", `auth_protocol "sha1024"`,
		"auth_key: 7 characters", `priv_protocol "rot13"`, "priv_key given without priv_protocol", `engine_ids: "0x12"`,
		`neither a numeric OID nor a MIB name`, "name required", `level "loud"`, `unknown_level "unknown"`,
		`"crm01" is not an IP address`, "queue_size 1", "batch_size 0", "flush_interval 0s", "read_buffer 1", "/no/such/mib"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), authKey) || strings.Contains(err.Error(), privKey) {
		t.Errorf("an error repeats a key:\n%v", err)
	}
}

func TestParseV3User(t *testing.T) {
	u, err := ParseV3User("alice@0x" + engineHex + ":SHA256:" + authKey + ":AES:" + privKey + ":with:colons")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.EngineIDs[0] != "0x"+engineHex || u.AuthProtocol != "sha256" || u.PrivProtocol != "aes" ||
		u.AuthKey.Reveal() != authKey || u.PrivKey.Reveal() != privKey+":with:colons" {
		t.Errorf("parsed %+v", u)
	}
	if u, err := ParseV3User("bob:md5:" + authKey); err != nil || !u.PrivKey.IsZero() {
		t.Errorf("authNoPriv form: %+v, %v", u, err)
	}
	for _, bad := range []string{"alice", "alice:sha:" + authKey + ":aes", "alice:sha:short:aes:" + privKey, "alice:xyz:" + authKey + ":aes:" + privKey} {
		_, err := ParseV3User(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), authKey) || strings.Contains(err.Error(), privKey) || strings.Contains(err.Error(), "short") {
			t.Errorf("error repeats a key: %v", err)
		}
	}
}

func TestConfigFromYAML(t *testing.T) {
	cfg := DefaultConfig()
	src := fmt.Sprintf(`
listen: 127.0.0.1:1162
communities: [%s]
users:
  - {name: alice, auth_protocol: sha, auth_key: %s, priv_protocol: aes, priv_key: %s, engine_ids: ["0x%s"]}
traps:
  - {oid: 1.3.6.1.4.1.99999.0.7, name: asyncStalled, level: critical}
`, community, authKey, privKey, engineHex)
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Communities[0].Reveal() != community || cfg.Users[0].PrivKey.Reveal() != privKey || cfg.Traps[0].Name != "asyncStalled" {
		t.Errorf("decoded %+v", cfg)
	}
	dump, _ := yaml.Marshal(cfg)
	js, _ := json.Marshal(cfg)
	for _, out := range []string{string(dump), string(js), fmt.Sprintf("%+v %#v", cfg, cfg)} {
		for _, s := range []string{community, authKey, privKey} {
			if strings.Contains(out, s) {
				t.Errorf("configuration dump shows a secret: %s", out)
			}
		}
	}
}

func TestApplyPlanAddsMappingsButStartsNothing(t *testing.T) {
	cfg := testConfig()
	asked := cfg.ApplyPlan(collectors.Plan{SNMPTraps: []collectors.TrapMapping{
		{OID: "1.3.6.1.6.3.1.1.5.3", Name: "packLinkDown", Level: "warning"},
		{OID: "1.3.6.1.6.3.1.1.5.5", Name: "authenticationFailure", Level: "warning"},
	}})
	if asked {
		t.Error("a plan must not start a trap listener by itself")
	}
	if len(cfg.Traps) != 2 || cfg.Traps[0].Name != "linkDown" || cfg.Traps[1].Name != "authenticationFailure" {
		t.Errorf("operator mapping wins, the pack's new one is added: %+v", cfg.Traps)
	}
}

// TestSecretsNeverLeak runs the collector with debug logging, sends traps
// with wrong credentials, and looks for every community and key in the
// logs, the errors and the metrics.
func TestSecretsNeverLeak(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, reg, s := start(t, testConfig(), collectors.Settings{Logger: log})
	a := c.Addr()
	send(t, v2cSender(t, a, community), linkDown())
	send(t, v2cSender(t, a, community+"x"), linkDown())
	send(t, v3Sender(t, a, "alice", unhex(t, engineHex), gosnmp.SHA, authKey+"x", gosnmp.AES, privKey), linkDown())
	s.wait(t, 1, 5*time.Second)
	waitFor(t, func() bool { return testutil.ToFloat64(c.m.rejected.WithLabelValues(ReasonAuthentication)) == 1 })
	mfs, _ := reg.Gather()
	_, err := NewFactory().New(&Config{Listen: "x", Users: []User{{Name: "z", AuthProtocol: "sha", AuthKey: secret.New(authKey), PrivKey: secret.New(privKey)}}}, collectors.Settings{})
	out := logs.String() + fmt.Sprint(mfs) + fmt.Sprint(err) + fmt.Sprintf("%+v", s.snapshot())
	for _, sec := range []string{community, authKey, privKey} {
		if strings.Contains(out, sec) {
			t.Errorf("secret %q leaked:\n%s", sec, out)
		}
	}
}

func TestEqualComparesSecretsByValue(t *testing.T) {
	a, b := testConfig(), testConfig()
	if !a.Equal(b) {
		t.Error("two configs with the same secrets are equal (the agent keeps the collector running)")
	}
	b.Users[0].PrivKey = secret.New(privKey + "2")
	if a.Equal(b) {
		t.Error("a changed key is a changed configuration")
	}
	b = testConfig()
	b.Listen = "127.0.0.1:1"
	if a.Equal(b) {
		t.Error("a changed address is a changed configuration")
	}
}
