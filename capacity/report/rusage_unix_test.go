//go:build unix

package report_test

import (
	"runtime"
	"syscall"
	"time"
)

// rusage is the CPU time (user+system) this process used so far and its
// peak resident set in bytes. The benchmark reports CPU time besides wall
// time because the shared machine is often busy.
func rusage() (time.Duration, uint64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	rss := uint64(ru.Maxrss) * 1024 // KiB on Linux
	if runtime.GOOS == "darwin" {
		rss = uint64(ru.Maxrss) // bytes
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), rss
}
