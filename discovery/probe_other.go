//go:build !windows

package discovery

// SystemProbe is nil off Windows: there is no registry or service list to
// read; the trace headers and the configured roles remain.
func SystemProbe() Probe { return nil }
