//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package server

import "os"

// lockFile does nothing where neither flock nor LockFileEx exist: the
// directory is not protected there.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
