//go:build unix

package tracectl

import "golang.org/x/sys/unix"

// DiskUsage measures the volume holding path (statfs).
func DiskUsage(path string) (Disk, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(path, &s); err != nil {
		return Disk{}, err
	}
	bs := uint64(s.Bsize) // Bsize is int64 on Linux, uint32 on the BSDs
	return Disk{Free: uint64(s.Bavail) * bs, Total: uint64(s.Blocks) * bs}, nil
}
