package transport

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isRefused reports a connection the remote host actively refused.
func isRefused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }
