//go:build !windows

package tail

import "os"

// openShared opens a file for reading; on Unix a reader never blocks the
// writer's rename or delete.
func openShared(path string) (*os.File, error) { return os.Open(path) }
