// Package perfcounters is the agent's performance-counter collector. It
// reads counter paths as Windows writes them (\Object(instance)\Counter,
// "*" for every instance) at configured intervals and ships them as
// samples: through PDH on Windows (pdh.dll behind a small interface, the
// two-sample rule for rate counters), from /proc on Linux where a Linux
// figure means the same as the Windows counter, and from Prometheus
// text-format targets (windows_exporter, node_exporter) through mapping
// rules. Which paths to read comes from the packs for the host's roles
// (ApplyPlan) and from the operator's own counters: sets.
package perfcounters

import (
	"fmt"
	"runtime"

	"crmwatch/collectors"
)

// Type is the collector's name in configuration and metrics.
const Type = "perfcounters"

// Option changes what a factory builds.
type Option func(*factory)

// WithSource replaces the system's own source (what source: auto reads):
// the demo reads its simulated farm this way.
func WithSource(fn SourceFunc) Option { return func(f *factory) { f.auto = fn } }

type factory struct{ auto SourceFunc }

// NewFactory returns the perfcounters factory for collectors.NewRegistry.
func NewFactory(opts ...Option) collectors.Factory {
	f := &factory{}
	for _, o := range opts {
		o(f)
	}
	return f
}

func (*factory) Type() string { return Type }

func (*factory) DefaultConfig() collectors.Config { return DefaultConfig() }

func (f *factory) New(cfg collectors.Config, set collectors.Settings) (collectors.Collector, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("%s: config is %T, want *perfcounters.Config", Type, cfg)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	src, err := f.source(c.Source)
	if err != nil {
		return nil, err
	}
	return newCollector(c, set, src)
}

// source resolves Config.Source on this system.
func (f *factory) source(name string) (SourceFunc, error) {
	if name == SourceNone {
		return nil, nil
	}
	if name == SourceAuto && f.auto != nil {
		return f.auto, nil
	}
	fn, ok := nativeSource(name)
	if !ok && name != SourceAuto {
		return nil, fmt.Errorf("%s: source %q is not available on %s (use auto, or none with prometheus targets)", Type, name, runtime.GOOS)
	}
	return fn, nil
}
