//go:build !linux

package snmptrap

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// Elsewhere the socket stays in Go's netpoller (ticked_linux.go says why
// Linux differs).
type tickedSocket struct{}

func detach(*net.UDPConn) (*tickedSocket, error) { return nil, nil }

func (*tickedSocket) drain(*atomic.Bool, func([]byte, netip.AddrPort)) {}
func (*tickedSocket) send([]byte, netip.AddrPort)                      {}
func (*tickedSocket) close() error                                     { return nil }
