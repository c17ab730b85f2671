//go:build !unix

package snmptrap

// cpuNanos is 0 where getrusage is not available; the benchmark then
// reports no CPU figure.
func cpuNanos() int64 { return 0 }
