package snmptrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// Collector listens for traps and ships them as events.
type Collector struct {
	cfg    Config
	set    collectors.Settings
	log    *slog.Logger
	m      *metrics
	mapper *Mapper
	hosts  map[netip.Addr]string
	local  map[netip.Addr]bool
	queue  chan event.Event

	mu    sync.Mutex
	addr  *net.UDPAddr
	ready chan struct{} // closed once the socket is bound
	ran   bool
	// pendingBatch is a batch taken from the queue but not handed over
	// when ctx ended; flushQueue sends it first.
	pendingBatch []event.Event
}

var _ collectors.Volatile = (*Collector)(nil)

// stopFlushTimeout bounds the last hand-over of queued traps on stop.
const stopFlushTimeout = 5 * time.Second

func newCollector(cfg *Config, set collectors.Settings) (*Collector, error) {
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: *cfg, set: set, log: set.Logger.With("collector", Type),
		queue: make(chan event.Event, cfg.QueueSize), ready: make(chan struct{})}
	mibs, err := LoadMIBs(cfg.MIBs...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	for _, w := range mibs.Warnings {
		c.log.Debug("MIB definition not resolved", "definition", w)
	}
	unknown, _ := event.ParseLevel(cfg.UnknownLevel)
	var unresolved []string
	c.mapper, unresolved = NewMapper(cfg.Traps, mibs, unknown)
	if len(unresolved) > 0 {
		c.log.Warn("trap mappings name OIDs no MIB defines; they are skipped (add the MIB file to mibs or use the numeric OID)", "oids", unresolved)
	}
	c.hosts = map[netip.Addr]string{}
	for a, h := range cfg.Hosts {
		if ip, err := netip.ParseAddr(a); err == nil {
			c.hosts[ip.Unmap()] = h
		}
	}
	c.local = localAddrs()
	if c.m, err = newMetrics(set.Registerer, func() float64 { return float64(len(c.queue)) }); err != nil {
		return nil, err
	}
	return c, nil
}

// localAddrs are this machine's addresses: traps from them are about the
// agent's own host.
func localAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{netip.MustParseAddr("127.0.0.1"): true, netip.IPv6Loopback(): true}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
}

// Addr is the bound address once Run has bound it (nil before); for tests
// and the agent's logs.
func (c *Collector) Addr() *net.UDPAddr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Ready is closed once the socket is bound.
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// Run listens until ctx ends, then hands what is queued to the sink
// (within stopFlushTimeout) and returns. It may be called once.
func (c *Collector) Run(ctx context.Context, sink collectors.Sink) error {
	c.mu.Lock()
	if c.ran {
		c.mu.Unlock()
		return errors.New("snmptrap: Run called twice; build a new collector")
	}
	c.ran = true
	c.mu.Unlock()
	l, err := Listen(c.cfg.Listen, c.cfg.ReadBuffer, Credentials{Communities: c.cfg.Communities, Users: c.cfg.Users})
	if err != nil {
		return fmt.Errorf("%s: %w", Type, err)
	}
	l.OnTrap = c.onTrap
	l.OnReject = func(reason string) { c.m.rejected.WithLabelValues(reason).Inc() }
	c.mu.Lock()
	c.addr = l.Addr()
	c.mu.Unlock()
	close(c.ready)
	c.log.Info("listening for SNMP traps", "addr", l.Addr().String(), "communities", len(c.cfg.Communities),
		"v3_users", len(c.cfg.Users), "mappings", len(c.mapper.byOID))
	served := make(chan struct{})
	go func() { defer close(served); _ = l.Serve() }()
	c.emitLoop(ctx, sink)
	_ = l.Close()
	<-served
	// What arrived before the socket closed is still handed over.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopFlushTimeout)
	defer cancel()
	c.flushQueue(fctx, sink)
	return nil
}

// onTrap runs on the listener's goroutine: it must never block, so a full
// queue drops the trap and counts it by level.
func (c *Collector) onTrap(t Trap) {
	c.m.traps.WithLabelValues(t.Version).Inc()
	c.mapper.Name(&t)
	host, role := c.hostOf(t)
	ev, known := c.mapper.Event(t, host, role)
	if !known {
		c.m.unknown.Inc()
	}
	select {
	case c.queue <- ev:
	default:
		c.m.dropped.WithLabelValues(ev.Level.String()).Inc()
	}
}

// hostOf names the host a trap is about: the operator's hosts entry for
// its sender, the agent's host for traps from this machine, else the
// sender's address. The agent's single role goes with its own host.
func (c *Collector) hostOf(t Trap) (string, string) {
	ap, err := netip.ParseAddrPort(t.Source)
	if err != nil {
		return c.set.Host, ""
	}
	ip := ap.Addr().Unmap()
	if h, ok := c.hosts[ip]; ok {
		return h, ""
	}
	if c.local[ip] {
		role := ""
		if len(c.set.Roles) == 1 {
			role = c.set.Roles[0]
		}
		return c.set.Host, role
	}
	return ip.String(), ""
}

// emitLoop batches queued events (batch_size, or flush_interval after the
// first) and hands them to the sink until ctx ends.
func (c *Collector) emitLoop(ctx context.Context, sink collectors.Sink) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	batch := make([]event.Event, 0, c.cfg.BatchSize)
	for {
		select {
		case <-ctx.Done():
			c.queueFront(batch)
			return
		case ev := <-c.queue:
			batch = append(batch[:0], ev)
		}
		t.Reset(c.cfg.FlushInterval)
	fill:
		for len(batch) < c.cfg.BatchSize {
			select {
			case ev := <-c.queue:
				batch = append(batch, ev)
			case <-t.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		if !c.emit(ctx, sink, batch) {
			c.queueFront(batch)
			return
		}
		batch = make([]event.Event, 0, c.cfg.BatchSize) // the sink may keep the last one
	}
}

// queueFront keeps an unsent batch for flushQueue.
func (c *Collector) queueFront(batch []event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pendingBatch = append(c.pendingBatch, batch...)
}

// emit hands one batch to the sink, retrying with backoff while it
// refuses; false once ctx ended without the batch handed over.
func (c *Collector) emit(ctx context.Context, sink collectors.Sink, batch []event.Event) bool {
	backoff := 200 * time.Millisecond
	for {
		start := time.Now()
		err := sink.Emit(ctx, event.Batch{Host: c.set.Host, Events: batch})
		c.m.emitDuration.Observe(time.Since(start).Seconds())
		if err == nil {
			return true
		}
		c.m.emitErrors.Inc()
		if ctx.Err() != nil {
			return false
		}
		c.log.Warn("sink refused trap events; retrying", "events", len(batch), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// flushQueue hands what is left (the pending batch, then the queue) to the
// sink on stop; what it cannot hand over in time is counted as dropped.
func (c *Collector) flushQueue(ctx context.Context, sink collectors.Sink) {
	c.mu.Lock()
	rest := c.pendingBatch
	c.pendingBatch = nil
	c.mu.Unlock()
	for {
		select {
		case ev := <-c.queue:
			rest = append(rest, ev)
			continue
		default:
		}
		break
	}
	for len(rest) > 0 {
		n := min(len(rest), c.cfg.BatchSize)
		if err := sink.Emit(ctx, event.Batch{Host: c.set.Host, Events: rest[:n]}); err != nil {
			for _, ev := range rest {
				c.m.dropped.WithLabelValues(ev.Level.String()).Inc()
			}
			c.log.Warn("trap events not handed over before stop", "events", len(rest), "err", err)
			return
		}
		rest = rest[n:]
	}
}
