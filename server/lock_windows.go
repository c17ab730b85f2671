package server

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockRange is where the lock sits: far beyond the PID text, because
// Windows byte-range locks are mandatory and a second server must still be
// able to read who holds the directory.
var lockRange = windows.Overlapped{OffsetHigh: 1}

// lockFile takes an exclusive lock without waiting.
func lockFile(f *os.File) error {
	ol := lockRange
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errWouldBlock
	}
	return err
}

func unlockFile(f *os.File) {
	ol := lockRange
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
