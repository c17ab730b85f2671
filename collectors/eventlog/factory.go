package eventlog

import (
	"fmt"

	"crmwatch/collectors"
)

// Type is the collector's name in configuration and metrics.
const Type = "eventlog"

type factory struct{ src EventSource }

// Option changes the factory.
type Option func(*factory)

// WithEventSource replaces the Windows event-log API (tests pass a fake).
func WithEventSource(src EventSource) Option { return func(f *factory) { f.src = src } }

// NewFactory returns the eventlog factory for collectors.NewRegistry.
func NewFactory(opts ...Option) collectors.Factory {
	f := &factory{src: platformSource()}
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
		return nil, fmt.Errorf("%s: config is %T, want *eventlog.Config", Type, cfg)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	if c.Live && f.src == nil {
		return nil, fmt.Errorf("%s: live: the Windows event log exists only on Windows; set live: false and use drop_dir for exported logs", Type)
	}
	return newCollector(c, set, f.src)
}
