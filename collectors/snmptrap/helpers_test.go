package snmptrap

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"
)

// Test credentials. The keys are markers the leak tests search for.
const (
	community  = "s3cret-community"
	authKey    = "auth-KEY-marker-1"
	privKey    = "priv-KEY-marker-2"
	engineHex  = "8000000001020304"
	engineHex2 = "80000000010a0b0c0d"
)

func testUsers() []User {
	return []User{
		{Name: "alice", AuthProtocol: "sha", AuthKey: secret.New(authKey), PrivProtocol: "aes", PrivKey: secret.New(privKey)},
		{Name: "bob", AuthProtocol: "sha256", AuthKey: secret.New(authKey + "b"), EngineIDs: []string{"0x" + engineHex2}},
		{Name: "carol", AuthProtocol: "md5", AuthKey: secret.New(authKey + "c"), PrivProtocol: "des", PrivKey: secret.New(privKey + "c")},
	}
}

func testConfig() *Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Communities = []secret.Value{secret.New(community)}
	cfg.Users = testUsers()
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.Traps = []collectors.TrapMapping{{OID: "1.3.6.1.6.3.1.1.5.3", Name: "linkDown", Level: "error", Message: "A network interface went down."}}
	return cfg
}

// sink records every event it accepts.
type sink struct {
	mu     sync.Mutex
	events []event.Event
	got    chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1)} }

func (s *sink) Emit(_ context.Context, b event.Batch) error {
	s.mu.Lock()
	s.events = append(s.events, b.Events...)
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
	return nil
}

func (s *sink) snapshot() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// wait returns once n events arrived, or fails after the deadline.
func (s *sink) wait(t testing.TB, n int, d time.Duration) []event.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		if evs := s.snapshot(); len(evs) >= n {
			return evs
		}
		select {
		case <-s.got:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("got %d events, want %d", len(s.snapshot()), n)
		}
	}
}

// start runs a collector of cfg and returns it, its metrics and its sink.
func start(t testing.TB, cfg *Config, set collectors.Settings) (*Collector, *prometheus.Registry, *sink) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if set.Host == "" {
		set.Host = "CRMAPP01"
	}
	set.Registerer = reg
	c, err := NewFactory().New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	col := c.(*Collector)
	s := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx, s) }()
	select {
	case <-col.Ready():
	case err := <-done:
		t.Fatalf("collector stopped: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("collector did not bind")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return col, reg, s
}

// sender is a gosnmp client sending traps to addr.
func sender(t testing.TB, addr *net.UDPAddr, g *gosnmp.GoSNMP) *gosnmp.GoSNMP {
	t.Helper()
	g.Target, g.Port, g.Timeout, g.Retries = addr.IP.String(), uint16(addr.Port), 2*time.Second, 0
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func v2cSender(t testing.TB, addr *net.UDPAddr, comm string) *gosnmp.GoSNMP {
	return sender(t, addr, &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: comm})
}

func v3Sender(t testing.TB, addr *net.UDPAddr, user, engine string, auth gosnmp.SnmpV3AuthProtocol, authPass string, priv gosnmp.SnmpV3PrivProtocol, privPass string) *gosnmp.GoSNMP {
	flags := gosnmp.AuthNoPriv
	if priv != gosnmp.NoPriv {
		flags = gosnmp.AuthPriv
	}
	if auth == gosnmp.NoAuth {
		flags = gosnmp.NoAuthNoPriv
	}
	return sender(t, addr, &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: user, AuthoritativeEngineID: engine, AuthoritativeEngineBoots: 1,
			AuthenticationProtocol: auth, AuthenticationPassphrase: authPass, PrivacyProtocol: priv, PrivacyPassphrase: privPass}})
}

// linkDown is the varbinds of an IF-MIB linkDown notification for ifIndex 2.
func linkDown() gosnmp.SnmpTrap {
	return gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(4242)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"},
		{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2},
		{Name: ".1.3.6.1.2.1.2.2.1.2.2", Type: gosnmp.OctetString, Value: []byte("eth1")},
	}}
}

func send(t testing.TB, g *gosnmp.GoSNMP, trap gosnmp.SnmpTrap) {
	t.Helper()
	if _, err := g.SendTrap(trap); err != nil {
		t.Fatal(err)
	}
}

func unhex(t testing.TB, s string) string {
	t.Helper()
	id, err := parseEngineID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func gosnmpInt(oid string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Integer, Value: v}
}
