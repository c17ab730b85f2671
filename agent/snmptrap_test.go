package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/collectors/snmptrap"
	"crmwatch/secret"
	"crmwatch/transport"
)

// freeUDPPort returns a loopback address whose UDP port was free a moment ago.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// TestSNMPTrapCollectorInAgent: the agent accepts the snmptrap collector
// in its config file, a trap reaches the events stream through the disk
// spool, and the
// collector's own metrics are on the agent's /metrics with its label.
func TestSNMPTrapCollectorInAgent(t *testing.T) {
	natsURL, js, names := startJetStream(t)
	addr := freeUDPPort(t)
	cfg := t.TempDir() + "/agent.yaml"
	writeFile(t, cfg, "collectors:\n  snmptrap:\n    listen: "+addr+"\n    communities: [c0mm-marker]\n")
	a, err := New(Options{NATS: secret.MustURL(natsURL), Name: "CRMAPP01", Roles: []string{"AppServer"},
		ConfigFile: cfg, StateDir: t.TempDir(), MetricsListen: "127.0.0.1:0", HeartbeatEvery: time.Hour,
		Factories: []collectors.Factory{snmptrap.NewFactory()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	host, port, _ := net.SplitHostPort(addr)
	g := &gosnmp.GoSNMP{Target: host, Version: gosnmp.Version2c, Community: "c0mm-marker", Timeout: time.Second}
	for _, c := range port {
		g.Port = g.Port*10 + uint16(c-'0')
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	stream, _ := js.Stream(ctx, names.EventsStream())
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Sent again until it lands: the listener may not be bound yet.
		_, _ = g.SendTrap(gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"}}})
		if info, _ := stream.Info(ctx); info != nil && info.State.Msgs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no trap event in the events stream within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b, err := transport.DecodeBatch(msg)
	if err != nil {
		t.Fatal(err)
	}
	if ev := b.Events[0]; ev.Source != "snmp" || ev.Category != "linkDown" || ev.Host != "CRMAPP01" || ev.Role != "AppServer" {
		t.Errorf("event %+v", ev)
	}
	page := string(scrape(t, "http://"+a.MetricsAddr()+"/metrics"))
	for _, want := range []string{`crmwatch_snmptrap_traps_total{collector="snmptrap",version="2c"}`,
		`crmwatch_snmptrap_rejected_total{collector="snmptrap",reason="authentication"} 0`,
		`crmwatch_snmptrap_dropped_total{collector="snmptrap",level="error"} 0`,
		// Traps go through the disk spool (a collectors.Volatile collector).
		`crmwatch_spool_dropped_events_total{level="critical"} 0`, `crmwatch_spool_bytes`} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(page, "crmwatch_spool_sent_observations_total 0") {
		t.Error("the trap event did not go through the spool")
	}
	if strings.Contains(page, "c0mm-marker") {
		t.Error("the community is on /metrics")
	}
}

func TestSpoolSizeIsChecked(t *testing.T) {
	cfg := t.TempDir() + "/agent.yaml"
	writeFile(t, cfg, "spool:\n  max_mb: 0\n")
	if _, err := New(Options{Name: "h", ConfigFile: cfg, StateDir: t.TempDir()}); err != nil {
		t.Errorf("max_mb 0 is the default: %v", err)
	}
	writeFile(t, cfg, "spool:\n  max_mb: -3\n")
	_, err := New(Options{Name: "h", ConfigFile: cfg, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "spool.max_mb -3: want 1 to 65536") {
		t.Errorf("a bad spool size is named: %v", err)
	}
}
