//go:build windows

package tail

import (
	"os"

	"golang.org/x/sys/windows"
)

// openShared opens a file for reading with FILE_SHARE_READ|WRITE|DELETE:
// CRM services keep their current trace file open for writing, and os.Open
// omits FILE_SHARE_DELETE, which would block the service's own roll-over
// (rename/delete) while the tailer holds the file.
func openShared(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
