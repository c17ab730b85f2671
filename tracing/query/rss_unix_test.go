//go:build unix

package query

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSSBytes is the child's peak resident set (ru_maxrss is KiB on Linux,
// bytes on macOS).
func maxRSSBytes(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss
	}
	return ru.Maxrss * 1024
}
