//go:build !unix

package query

import "os"

// maxRSSBytes is not measured on this platform.
func maxRSSBytes(*os.ProcessState) int64 { return 0 }
