package snmptrap

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"crmwatch/secret"
)

// capture returns the bytes gosnmp puts on the wire for each trap, read
// from a plain UDP socket: the seed corpus of real packets.
func capture(t testing.TB) [][]byte {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a := conn.LocalAddr().(*net.UDPAddr)
	engine := unhex(t, engineHex)
	sends := []struct {
		g    *gosnmp.GoSNMP
		trap gosnmp.SnmpTrap
	}{
		{v2cSender(t, a, community), linkDown()},
		{sender(t, a, &gosnmp.GoSNMP{Version: gosnmp.Version1, Community: community}), gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.8072", AgentAddress: "10.1.2.3", GenericTrap: 6, SpecificTrap: 3,
			Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2}}}},
		{v3Sender(t, a, "alice", engine, gosnmp.SHA, authKey, gosnmp.AES, privKey), linkDown()},
		{v3Sender(t, a, "bob", unhex(t, engineHex2), gosnmp.SHA256, authKey+"b", gosnmp.NoPriv, ""), linkDown()},
		{v3Sender(t, a, "carol", engine, gosnmp.MD5, authKey+"c", gosnmp.DES, privKey+"c"), linkDown()},
	}
	var out [][]byte
	buf := make([]byte, 65536)
	for _, s := range sends {
		send(t, s.g, s.trap)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out
}

func TestCapturedPacketsDecode(t *testing.T) {
	d, err := NewDecoder(Credentials{Communities: []secret.Value{secret.New(community)}, Users: testUsers()})
	if err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddrPort("192.0.2.1:1234")
	for i, pkt := range capture(t) {
		tr, _, reason := d.Decode(pkt, from, time.Now())
		if reason != "" || tr.TrapOID == "" {
			t.Errorf("packet %d: reason %q, trap %+v", i, reason, tr)
		}
		// Every strict prefix of a real packet is refused, never a panic.
		for n := 0; n < len(pkt); n++ {
			if _, _, reason := d.Decode(append([]byte(nil), pkt[:n]...), from, time.Now()); reason == "" {
				t.Errorf("packet %d cut at %d accepted", i, n)
			}
		}
	}
}

// FuzzDecode: whatever arrives on the trap port, the decoder returns a
// trap or a known reason and never panics; an accepted trap has a version
// and a trap OID.
func FuzzDecode(f *testing.F) {
	for _, p := range capture(f) {
		f.Add(p)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("not snmp at all"))
	d, err := NewDecoder(Credentials{Communities: []secret.Value{secret.New(community)}, Users: testUsers()})
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{"": true}
	for _, r := range Reasons {
		known[r] = true
	}
	from := netip.MustParseAddrPort("192.0.2.1:1234")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		tr, _, reason := d.Decode(pkt, from, time.Time{})
		if !known[reason] {
			t.Fatalf("unknown reason %q", reason)
		}
		if reason == "" && (tr.TrapOID == "" || tr.Version == "") {
			t.Fatalf("accepted trap without OID or version: %+v", tr)
		}
	})
}

// FuzzParseMIB: any text parses without panicking, and LoadMIBs resolves
// whatever it found without looping.
func FuzzParseMIB(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "mibs", "*"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a OBJECT IDENTIFIER ::= { b 1 } b OBJECT IDENTIFIER ::= { a 2 }"))
	f.Add([]byte("x TRAP-TYPE ENTERPRISE y ::= 4 z OBJECT IDENTIFIER ::= { iso(1) org(3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs := ParseMIB(data)
		m := &MIBs{byName: map[string][]uint32{zeroRoot: {}}, byOID: map[string]string{}}
		m.resolve(defs)
		for _, d := range defs {
			if len(d.arcs) > maxArcs+1 {
				t.Fatalf("definition with %d arcs", len(d.arcs))
			}
		}
	})
}
