//go:build !windows

package transport

import (
	"errors"
	"syscall"
)

// isRefused reports a connection the remote host actively refused.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
