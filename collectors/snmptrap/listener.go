package snmptrap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Listener receives traps on one UDP socket. The collector and `crmwatch
// snmp listen` both use it.
type Listener struct {
	conn *net.UDPConn
	addr *net.UDPAddr
	// ticked, where the system allows it, holds the socket outside Go's
	// netpoller and drains it on a timer (listener_linux.go).
	ticked *tickedSocket
	served chan struct{} // closed when Serve has returned
	dec    *Decoder
	// OnTrap is called, on the listener's goroutine, for every accepted
	// trap; it must not keep p.
	OnTrap func(t Trap)
	// OnReject is called for every refused packet with its reason.
	OnReject func(reason string)
	closed   atomic.Bool
	serving  atomic.Bool
	accepted atomic.Uint64
}

// Listen binds addr (host:port, UDP) with a receive buffer of readBuffer
// bytes (the system may cap it) and builds the decoder for creds.
func Listen(addr string, readBuffer int, creds Credentials) (*Listener, error) {
	dec, err := NewDecoder(creds)
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w (want host:port, e.g. :162)", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w (choose a free address; ports below 1024 such as 162 need privileges on Linux)", addr, err)
	}
	if readBuffer > 0 {
		_ = conn.SetReadBuffer(readBuffer) // best effort: the system caps it
	}
	l := &Listener{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr), dec: dec, served: make(chan struct{})}
	if l.ticked, err = detach(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return l, nil
}

// Addr is the bound address (useful with port 0).
func (l *Listener) Addr() *net.UDPAddr { return l.addr }

// Accepted is the number of traps accepted so far.
func (l *Listener) Accepted() uint64 { return l.accepted.Load() }

// Close stops Serve (and waits for it when it runs).
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	if l.ticked == nil {
		return l.conn.Close()
	}
	if l.serving.Load() {
		<-l.served // Serve closes the socket once its goroutines are done
		return nil
	}
	return l.ticked.close()
}

// Limits of the packets read but not yet decoded: the reading goroutine
// empties the socket's buffer at once, so a burst (or a moment without
// CPU) waits here rather than being dropped by the kernel.
const (
	maxPendingPackets = 16384
	maxPendingBytes   = 16 << 20
)

type packet struct {
	data []byte
	from netip.AddrPort
}

// Serve reads packets until Close. A packet is never trusted: whatever it
// holds, it is either a trap handed to OnTrap or a reason handed to
// OnReject. Informs (v2c) are answered once handed over. One goroutine
// reads, another decodes, in arrival order.
func (l *Listener) Serve() error {
	pending := make(chan packet, maxPendingPackets)
	var pendingBytes atomic.Int64
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		for p := range pending {
			pendingBytes.Add(-int64(len(p.data)))
			l.handle(p.data, p.from)
		}
	}()
	defer func() { close(pending); <-decoded }()
	enqueue := func(data []byte, from netip.AddrPort) {
		if pendingBytes.Load()+int64(len(data)) > maxPendingBytes {
			l.overflow()
			return
		}
		select {
		case pending <- packet{data: append([]byte(nil), data...), from: from}:
			pendingBytes.Add(int64(len(data)))
		default:
			l.overflow()
		}
	}
	if l.ticked != nil {
		l.serving.Store(true)
		defer close(l.served)
		defer func() { _ = l.ticked.close() }() // after the decoder is done
		if l.closed.Load() {
			return nil
		}
		l.ticked.drain(&l.closed, enqueue)
		return nil
	}
	buf := make([]byte, 65536) // the largest UDP payload: nothing is cut
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// A transient read error (ICMP feedback on some systems):
			// keep listening.
			time.Sleep(time.Millisecond)
			continue
		}
		enqueue(buf[:n], from)
	}
}

// overflow counts a packet dropped because decoding fell behind.
func (l *Listener) overflow() {
	if l.OnReject != nil {
		l.OnReject(ReasonOverload)
	}
}

func (l *Listener) handle(pkt []byte, from netip.AddrPort) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	t, p, reason := l.dec.Decode(pkt, from, time.Now())
	if reason != "" {
		if l.OnReject != nil {
			l.OnReject(reason)
		}
		return
	}
	l.accepted.Add(1)
	if l.OnTrap != nil {
		l.OnTrap(t)
	}
	if t.Inform {
		l.respond(p, from)
	}
}

// respond acknowledges an inform with a response carrying its bindings
// (RFC 3416 §4.2.7).
func (l *Listener) respond(p *gosnmp.SnmpPacket, to netip.AddrPort) {
	p.PDUType = gosnmp.GetResponse
	p.Error, p.ErrorIndex = gosnmp.NoError, 0
	b, err := p.MarshalMsg()
	if err != nil {
		return
	}
	if l.ticked != nil {
		l.ticked.send(b, to)
		return
	}
	_, _ = l.conn.WriteToUDPAddrPort(b, to)
}
