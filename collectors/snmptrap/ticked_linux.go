//go:build linux

package snmptrap

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// On Linux the trap socket is read outside Go's netpoller. The netpoller
// wakes the process for every datagram that arrives, and on a virtual
// machine a wake-up from idle costs several times what decoding the trap
// does: 450 traps a second evenly spaced cost the agent 6 % of a core,
// the same traps in bursts 2.25 % (docs/performance.md, agent footprint).
// Drained on a timer, a steady stream costs a wake-up per tick; a burst
// waits in the socket's receive buffer (read_buffer) for at most a tick.
const (
	busyTick  = 10 * time.Millisecond // while traps arrive
	idleTick  = 50 * time.Millisecond // after idleAfter empty ticks
	idleAfter = 20
)

// tickedSocket is the listener's socket taken out of the netpoller.
type tickedSocket struct {
	fd     int
	closed atomic.Bool
}

// detach duplicates conn's socket, sets the copy non-blocking and closes
// conn, which removes the socket from the netpoller; the copy is read by
// drain and closed by close.
func detach(conn *net.UDPConn) (*tickedSocket, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := conn.Close(); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &tickedSocket{fd: fd}, nil
}

// drain reads every waiting datagram each tick until stop is set.
func (t *tickedSocket) drain(stop *atomic.Bool, deliver func([]byte, netip.AddrPort)) {
	buf := make([]byte, 65536) // the largest UDP payload: nothing is cut
	empty := 0
	for !stop.Load() {
		n := 0
		for !stop.Load() {
			m, sa, err := syscall.Recvfrom(t.fd, buf, 0)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				break // EAGAIN: drained (other errors: ICMP feedback; next tick)
			}
			deliver(buf[:m], addrPort(sa))
			n++
		}
		if n > 0 {
			empty = 0
		} else {
			empty++
		}
		if empty > idleAfter {
			time.Sleep(idleTick)
		} else {
			time.Sleep(busyTick)
		}
	}
}

// send answers an inform.
func (t *tickedSocket) send(b []byte, to netip.AddrPort) {
	var sa syscall.Sockaddr
	if a := to.Addr(); a.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: a.As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
	}
	_ = syscall.Sendto(t.fd, b, 0, sa)
}

func (t *tickedSocket) close() error {
	if t.closed.Swap(true) {
		return nil
	}
	return syscall.Close(t.fd)
}

func addrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
