//go:build !unix && !windows

package tracectl

import "errors"

// DiskUsage is not available on this platform; the free-space check of the
// disk guard reports it as an error and the quota check still works.
func DiskUsage(string) (Disk, error) {
	return Disk{}, errors.New("free space cannot be measured on this platform")
}
