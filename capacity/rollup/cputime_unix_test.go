//go:build unix

package rollup_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user+system) this process used so far. The
// benchmarks report observations per CPU-second besides wall-clock rates
// because the shared machine is often busy: CPU time is what one costs.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
