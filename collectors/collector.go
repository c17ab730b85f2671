// Package collectors defines the plug-in contract every agent collector
// implements (trace files, event logs, performance counters, SNMP traps) and
// the explicit registry the agent builds them from.
//
// A collector lives in its own folder under collectors/<name>/ with a
// factory, a config with defaults and Validate, tests, testdata and a README.
// Nothing registers itself in init(): the agent passes the factories it wants
// to NewRegistry, so collectors stay usable as libraries.
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
)

// Sink is where a collector hands its observations.
type Sink interface {
	// Emit returns once the batch is durably handed over (acknowledged by the
	// transport or written to the agent's spool), or with an error (ctx
	// ended, transport refused). A collector advances its own checkpoint only
	// after Emit returned nil: that is how nothing is lost.
	Emit(ctx context.Context, b event.Batch) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, b event.Batch) error

// Emit calls f.
func (f SinkFunc) Emit(ctx context.Context, b event.Batch) error { return f(ctx, b) }

// Collector is one running collector instance.
type Collector interface {
	// Run collects until ctx is cancelled, then releases everything it holds
	// and returns nil; it returns an error only for a failure it cannot
	// recover from (the agent reports it and stops).
	Run(ctx context.Context, sink Sink) error
}

// Config is a collector's configuration. DefaultConfig returns it with every
// default filled in (the one source of defaults); Validate reports every
// problem at once (errors.Join).
type Config interface {
	Validate() error
}

// Settings are what the agent gives every collector it builds.
type Settings struct {
	Host   string
	Roles  []string
	Logger *slog.Logger
	// Registerer is where the collector registers its self-metrics
	// (durations, emitted, malformed, dropped counts), pre-initialised at 0.
	Registerer prometheus.Registerer
	// StateDir is a directory private to this collector for checkpoints.
	StateDir string
}

// Factory builds one kind of collector.
type Factory interface {
	// Type is the collector's name in config files and metrics, e.g. "tracefiles".
	Type() string
	// DefaultConfig returns a new config with every default set; the agent
	// decodes the operator's YAML on top of it.
	DefaultConfig() Config
	// New builds a collector from a validated config.
	New(cfg Config, set Settings) (Collector, error)
}

// Registry maps collector types to factories.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns a registry of the given factories; it fails on a
// duplicate type so two plug-ins never silently shadow each other.
func NewRegistry(fs ...Factory) (*Registry, error) {
	r := &Registry{factories: make(map[string]Factory, len(fs))}
	for _, f := range fs {
		if _, dup := r.factories[f.Type()]; dup {
			return nil, fmt.Errorf("collector type %q registered twice", f.Type())
		}
		r.factories[f.Type()] = f
	}
	return r, nil
}

// Factory returns the factory for typ.
func (r *Registry) Factory(typ string) (Factory, bool) {
	f, ok := r.factories[typ]
	return f, ok
}

// Types lists the registered collector types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Volatile is implemented by collectors whose observations cannot be read
// again once received (SNMP traps; live events without a bookmark): a
// source with a checkpoint can wait for the centre, these cannot. The agent
// gives such a collector a sink backed by its bounded disk spool, so Emit
// returns once the batch is on disk and the spool sends it, in order, when
// the centre is reachable.
type Volatile interface {
	// Volatile reports whether this instance's observations are
	// volatile (a collector may be so in one mode only).
	Volatile() bool
}
