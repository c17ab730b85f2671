//go:build !unix

package tracing

import "time"

// processCPU is not measured on this platform; the CPU-rate metric is skipped.
func processCPU() time.Duration { return 0 }
