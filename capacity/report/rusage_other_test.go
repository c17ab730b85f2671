//go:build !unix

package report_test

import "time"

// rusage is unavailable here; the benchmark then reports wall time and heap.
func rusage() (time.Duration, uint64) { return 0, 0 }
