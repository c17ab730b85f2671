package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the lock file a server holds in its data directory for as
// long as it runs. The operating system releases the lock when the process
// ends, crash included, so a stale file never blocks a restart.
const LockFile = "crmwatch.lock"

// LockedError is a data directory another server holds.
type LockedError struct {
	Dir string
	// PID is the holder's process id (0 when it could not be read).
	PID int
}

func (e *LockedError) Error() string {
	who := "another crmwatch server"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("data directory %s is in use by %s: stop that server, or give this one another --data", e.Dir, who)
}

// errWouldBlock is what the platform lock returns when someone else holds it.
var errWouldBlock = errors.New("lock held by another process")

// lockDataDir creates dir if needed and takes the exclusive lock on its
// LockFile, writing this process's id into it. A second server on the same
// directory (which would rebuild the first one's NATS store under it) gets
// a *LockedError at once. Commands that only open the store (crmwatch
// operators) do not take the lock, so they keep working on a live server.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w (check that --data is writable)", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return func() {
		_ = f.Truncate(0) // the PID is no longer true; the lock file stays
		unlockFile(f)
		_ = f.Close()
	}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return pid
}
