//go:build !unix

package rollup_test

import "time"

// processCPU is unavailable here; benchmarks then report wall-clock rates only.
func processCPU() time.Duration { return 0 }
