//go:build !unix

package tail

// cpuNanos is 0 where getrusage is not available; BenchmarkTrickleCPU
// then skips.
func cpuNanos() int64 { return 0 }
