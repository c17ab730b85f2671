//go:build linux

package perfcounters

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// hostFS is procFS over the running system, rooted at root ("/").
type hostFS struct{ root string }

func (h hostFS) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(h.root, name))
}

func (h hostFS) ReadDir(name string) ([]string, error) {
	f, err := os.Open(filepath.Join(h.root, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func (h hostFS) Statfs(dir string) (total, avail uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(h.root, dir), &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, st.Bavail * bs, nil
}

// nativeSource is /proc on Linux.
func nativeSource(name string) (SourceFunc, bool) {
	switch name {
	case SourceAuto, SourceProc:
		return func() (Source, error) { return newProcSource(hostFS{root: "/"}), nil }, true
	}
	return nil, false
}
