package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
)

// supervisor runs one collector per type and swaps them when their
// configuration changes (new packs, new roles) without stopping the
// others: a collector whose config changed is stopped — it saves its
// checkpoint on the way out — and its successor starts from there.
type supervisor struct {
	a    *Agent
	sink sinks
	reg  prometheus.Registerer
	ctx  context.Context
	errc chan error // the first collector failure stops the agent

	mu      sync.Mutex
	running map[string]*running
}

type running struct {
	c      collectors.Collector
	cfg    collectors.Config
	cancel context.CancelFunc
	done   chan struct{}
	metric *trackingRegisterer
}

// sinks are where collectors hand their batches: straight to the
// transport for collectors that can read their source again (their
// checkpoint waits for the acknowledgement), through the disk spool for
// volatile ones (collectors.Volatile).
type sinks struct {
	direct, volatile collectors.Sink
}

func (s sinks) For(c collectors.Collector) collectors.Sink {
	if v, ok := c.(collectors.Volatile); ok && v.Volatile() && s.volatile != nil {
		return s.volatile
	}
	return s.direct
}

func newSupervisor(ctx context.Context, a *Agent, sink sinks, reg prometheus.Registerer) *supervisor {
	return &supervisor{a: a, sink: sink, reg: reg, ctx: ctx, errc: make(chan error, 1), running: map[string]*running{}}
}

// apply makes the running collectors match configs. A collector that
// cannot be built is reported and the others keep running.
func (s *supervisor) apply(configs map[string]collectors.Config, roles []event.Role) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for typ, r := range s.running {
		if cfg, ok := configs[typ]; ok && sameConfig(cfg, r.cfg) {
			continue
		}
		r.stop()
		delete(s.running, typ)
	}
	var errs []error
	for _, typ := range sortedTypes(configs) {
		if _, ok := s.running[typ]; ok {
			continue
		}
		r, err := s.start(typ, configs[typ], roles)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.running[typ] = r
	}
	if len(errs) > 0 {
		return fmt.Errorf("agent: %v", errs)
	}
	return nil
}

func (s *supervisor) start(typ string, cfg collectors.Config, roles []event.Role) (*running, error) {
	fac, _ := s.a.reg.Factory(typ)
	dir := filepath.Join(s.a.o.StateDir, typ)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("collector %s: state directory: %w", typ, err)
	}
	tr := &trackingRegisterer{inner: prometheus.WrapRegistererWith(prometheus.Labels{"collector": typ}, s.reg)}
	c, err := fac.New(cfg, collectors.Settings{
		Host: s.a.o.Name, Roles: event.RoleStrings(roles), StateDir: dir, Logger: s.a.log, Registerer: tr,
	})
	if err != nil {
		tr.unregisterAll()
		return nil, fmt.Errorf("collector %s: %w", typ, err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r := &running{c: c, cfg: cfg, cancel: cancel, done: make(chan struct{}), metric: tr}
	go func() {
		defer close(r.done)
		if err := c.Run(ctx, s.sink.For(c)); err != nil && ctx.Err() == nil {
			select {
			case s.errc <- fmt.Errorf("collector %s: %w", typ, err):
			default:
			}
		}
	}()
	return r, nil
}

// sameConfig compares configurations; a config holding secrets (whose
// values reflect cannot compare) says itself whether it is unchanged.
func sameConfig(a, b collectors.Config) bool {
	if eq, ok := a.(interface{ Equal(collectors.Config) bool }); ok {
		return eq.Equal(b)
	}
	return reflect.DeepEqual(a, b)
}

// stop ends the collector, waits for it and removes its metrics (its
// successor registers its own).
func (r *running) stop() {
	r.cancel()
	<-r.done
	r.metric.unregisterAll()
}

// stopAll stops every collector (the agent is stopping).
func (s *supervisor) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for typ, r := range s.running {
		r.stop()
		delete(s.running, typ)
	}
}

// types lists the running collector types, sorted.
func (s *supervisor) types() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.typesLocked()
}

func (s *supervisor) typesLocked() []string {
	out := make([]string, 0, len(s.running))
	for t := range s.running {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func sortedTypes(m map[string]collectors.Config) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// trackingRegisterer remembers what a collector registered so its metrics
// can be removed when it is replaced.
type trackingRegisterer struct {
	inner prometheus.Registerer
	mu    sync.Mutex
	cs    []prometheus.Collector
}

func (t *trackingRegisterer) Register(c prometheus.Collector) error {
	if err := t.inner.Register(c); err != nil {
		return err
	}
	t.mu.Lock()
	t.cs = append(t.cs, c)
	t.mu.Unlock()
	return nil
}

func (t *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *trackingRegisterer) Unregister(c prometheus.Collector) bool { return t.inner.Unregister(c) }

func (t *trackingRegisterer) unregisterAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.cs {
		t.inner.Unregister(c)
	}
	t.cs = nil
}

// sources are the statuses of what the running collectors read (the ones
// that report them), by collector type, for each registration.
func (s *supervisor) sources() []collectors.SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []collectors.SourceStatus
	for _, typ := range s.typesLocked() {
		if sr, ok := s.running[typ].c.(collectors.StatusReporter); ok {
			out = append(out, sr.SourceStatuses()...)
		}
	}
	return out
}
