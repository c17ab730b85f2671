// Package tracefiles is the agent's collector for CRM platform trace files:
// it follows the trace folders with the rotation-safe tailer
// (tracing/tail), parses each complete record with the shared trace parser
// (tracing), keeps the levels and categories configured, and hands the
// records to the agent's sink as events whose Origin (file, fingerprint,
// offset) lets the receiver drop the one batch a crash may re-send.
package tracefiles

import (
	"fmt"

	"crmwatch/collectors"
)

// Type is the collector's name in configuration and metrics.
const Type = "tracefiles"

type factory struct{}

// NewFactory returns the tracefiles factory for collectors.NewRegistry.
func NewFactory() collectors.Factory { return factory{} }

func (factory) Type() string { return Type }

func (factory) DefaultConfig() collectors.Config { return DefaultConfig() }

func (factory) New(cfg collectors.Config, set collectors.Settings) (collectors.Collector, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("%s: config is %T, want *tracefiles.Config", Type, cfg)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	return newCollector(c, set)
}
