package snmptrap

import (
	"crmwatch/secret"
	"flag"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"net"
	"net/netip"
	"testing"
	"time"

	"crmwatch/collectors"
)

var (
	benchRate   = flag.Int("snmp.rate", 25000, "v2c traps/s the BenchmarkTrapsLoopback sender offers")
	benchRateV3 = flag.Int("snmp.v3rate", 10000, "v3 authPriv traps/s the BenchmarkTrapsLoopback sender offers")
)

// BenchmarkTrapsLoopback sends b.N real trap packets (as gosnmp encodes
// them) from a dedicated sender over loopback UDP to a running collector
// and waits until every one reached the sink as an event: it fails if any
// was lost. traps/s is the sustained rate from the first send to the last
// event handed over. The sender paces itself at -snmp.rate (default 25,000/s; v3 authPriv at -snmp.v3rate, 10,000/s) (the same pace an
// operator's farm would need; unpaced bursts measure the kernel's buffer,
// not the receiver).
func BenchmarkTrapsLoopback(b *testing.B) {
	pkts := capture(b)
	for _, bc := range []struct {
		name string
		pkt  []byte
		rate int
	}{{"v2c", pkts[0], *benchRate}, {"v3-authPriv", pkts[2], *benchRateV3}} {
		b.Run(bc.name, func(b *testing.B) { benchTraps(b, bc.pkt, bc.rate) })
	}
}

func benchTraps(b *testing.B, pkt []byte, rate int) {
	cfg := testConfig()
	cfg.FlushInterval = 20 * time.Millisecond
	c, _, s := start(b, cfg, collectors.Settings{})
	conn, err := net.DialUDP("udp", nil, c.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ReportAllocs()
	b.ResetTimer()
	begin, cpu0 := time.Now(), cpuNanos()
	// Pace in slices of 1 ms: rate/1000 packets, then wait for the next
	// millisecond.
	per := max(rate/1000, 1)
	for i := 0; i < b.N; i++ {
		if _, err := conn.Write(pkt); err != nil {
			b.Fatal(err)
		}
		if i%per == per-1 {
			if d := time.Until(begin.Add(time.Duration(i+1) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
		}
	}
	// Wait until every trap arrived, or nothing arrived for 3 s.
	last, lastAt := 0, time.Now()
	for last < b.N && time.Since(lastAt) < 3*time.Second {
		time.Sleep(2 * time.Millisecond)
		if n := len(s.snapshot()); n > last {
			last, lastAt = n, time.Now()
		}
	}
	el, cpu := lastAt.Sub(begin), cpuNanos()-cpu0
	b.StopTimer()
	if last != b.N {
		b.Fatalf("%d of %d traps lost (%.0f dropped undecoded: decoding fell behind; the rest in the kernel's socket buffer)",
			b.N-last, b.N, testutil.ToFloat64(c.m.rejected.WithLabelValues(ReasonOverload)))
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "traps/s")
	if cpu > 0 {
		// The whole process's CPU, the sender's included: what one core
		// could carry when the machine is shared.
		b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/trap")
	}
}

// BenchmarkDecode is the per-packet cost of checking and decoding.
func BenchmarkDecode(b *testing.B) {
	pkts := capture(b)
	d, err := NewDecoder(Credentials{Communities: []secret.Value{secret.New(community)}, Users: testUsers()})
	if err != nil {
		b.Fatal(err)
	}
	from := netip.MustParseAddrPort("192.0.2.1:1234")
	for _, bc := range []struct {
		name string
		pkt  []byte
	}{{"v2c", pkts[0]}, {"v3-authPriv", pkts[2]}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, len(bc.pkt))
			for b.Loop() {
				copy(buf, bc.pkt)
				if _, _, reason := d.Decode(buf, from, time.Time{}); reason != "" {
					b.Fatal(reason)
				}
			}
		})
	}
}
