//go:build !windows

package eventlog

// platformSource is nil: the Windows event log exists only on Windows
// (Config.Validate refuses live there).
func platformSource() EventSource { return nil }
