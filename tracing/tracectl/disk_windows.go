//go:build windows

package tracectl

import "golang.org/x/sys/windows"

// DiskUsage measures the volume holding path (GetDiskFreeSpaceEx; the free
// bytes are those available to the agent's account).
func DiskUsage(path string) (Disk, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return Disk{}, err
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return Disk{}, err
	}
	return Disk{Free: free, Total: total}, nil
}
