//go:build !linux && !windows

package perfcounters

// nativeSource: this system has neither PDH nor a /proc the collector
// knows; only Prometheus targets (and sources a caller passes in) work.
func nativeSource(string) (SourceFunc, bool) { return nil, false }
