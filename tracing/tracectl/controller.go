package tracectl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

// Agent-side defaults (the one source of them).
const (
	DefaultResync        = 30 * time.Second
	DefaultConfirmWithin = 10 * time.Minute
)

// ControllerOptions configure the agent side of trace control.
type ControllerOptions struct {
	Host  string
	Roles []string
	JS    jetstream.JetStream
	Names transport.Names
	// Applier reads and writes the trace values (required).
	Applier Applier
	// StateDir keeps what the agent holds and what it found (required).
	StateDir string
	// TraceDir is the CRM trace folder: the disk guard measures it and a
	// new file in it confirms a setting ("" turns both off).
	TraceDir string
	Guard    GuardOptions
	// Disk measures free space (default DiskUsage).
	Disk DiskFunc
	// Sink receives the disk guard's events (the agent's publisher);
	// without one the guard still reverts and says why in its
	// acknowledgement.
	Sink collectors.Sink
	// Resync re-reads the desired setting besides watching it (default 30s).
	Resync time.Duration
	// ConfirmWithin bounds the wait for a new trace file (default 10m).
	ConfirmWithin time.Duration
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Controller converges one agent's CRM trace values to the setting the
// server resolved for it, acknowledges what it did, ends a setting on time
// by itself (also while the centre is down, and after a restart) and
// reverts it when the disk guard trips.
type Controller struct {
	o   ControllerOptions
	log *slog.Logger
	m   *metrics

	bucket atomic.Pointer[Bucket]

	// Owned by Run's goroutine.
	st         heldState
	broken     error // the state file could not be read: change nothing
	ackDirty   bool
	ackFailing bool
	expiry     *time.Timer
	retry      *revertRequest // a revert that failed, retried every tick
	confirm    *pendingConfirm
	emits      sync.WaitGroup
}

type revertRequest struct {
	state  settings.State
	reason string
}

// NewController checks the options.
func NewController(o ControllerOptions) (*Controller, error) {
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("trace control: host name is required"))
	}
	if o.Applier == nil {
		errs = append(errs, errors.New("trace control: an applier is required"))
	}
	if o.StateDir == "" {
		errs = append(errs, errors.New("trace control: a state directory is required"))
	}
	if err := o.Guard.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.Guard = o.Guard.withDefaults()
	if o.Disk == nil {
		o.Disk = DiskUsage
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.ConfirmWithin <= 0 {
		o.ConfirmWithin = DefaultConfirmWithin
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Controller{o: o, log: o.Logger.With("component", "tracectl"), m: m}, nil
}

// Run follows the desired setting until ctx ends. It first enforces what
// it holds (a setting that expired while the agent was down is reverted at
// once, before any connection), then converges on every change.
func (c *Controller) Run(ctx context.Context) error {
	c.expiry = time.NewTimer(time.Hour)
	c.expiry.Stop()
	c.start(ctx)
	desired := make(chan settings.Desired, 1)
	followDone := make(chan struct{})
	go func() { defer close(followDone); c.follow(ctx, desired) }()
	tick := time.NewTicker(time.Second)
	guard := time.NewTicker(c.o.Guard.Every)
	resync := time.NewTicker(c.o.Resync)
	defer func() { tick.Stop(); guard.Stop(); resync.Stop(); c.expiry.Stop() }()
	for {
		select {
		case <-ctx.Done():
			<-followDone
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			c.flushAck(fctx)
			cancel()
			c.emits.Wait()
			return nil
		case d := <-desired:
			c.converge(ctx, d)
		case <-c.expiry.C:
			c.checkExpiry(ctx)
		case <-tick.C:
			c.checkExpiry(ctx)
			c.retryRevert(ctx)
			c.checkConfirm()
			c.flushAck(ctx)
		case <-guard.C:
			c.checkGuard(ctx)
		case <-resync.C:
			c.resync(ctx)
		}
	}
}

// start loads the state file and enforces expiry before anything else.
func (c *Controller) start(ctx context.Context) {
	st, err := loadState(c.o.StateDir)
	if err != nil {
		c.broken = err
		c.log.Error("trace control disabled: its state file is unreadable", "err", err)
		return
	}
	c.st = st
	c.ackDirty = st.Ack.Host != "" // send the last acknowledgement again
	c.m.holding.Set(boolFloat(st.active()))
	if st.active() && st.Setting != nil {
		c.log.Info("holding a trace setting from before the restart", "setting", st.Setting.ID, "expires", st.Setting.Expires)
	}
	c.checkExpiry(ctx)
	c.armExpiry()
}

// follow feeds desired with the agent's desired setting: a watch on its
// key, re-opened at once when the connection comes back (a watch would
// recover by itself, but only after missed heartbeats) and with backoff
// while the centre is down or the bucket is not there yet.
func (c *Controller) follow(ctx context.Context, out chan settings.Desired) {
	reconnected := c.reconnects(ctx)
	backoff := 500 * time.Millisecond
	failing := false
	for ctx.Err() == nil {
		err := c.watchOnce(ctx, out, reconnected)
		if ctx.Err() != nil {
			return
		}
		if err == nil { // the connection came back: watch again now
			backoff = 500 * time.Millisecond
			continue
		}
		if !failing {
			failing = true
			if c.o.JS != nil {
				err = transport.Explain(c.o.JS.Conn(), err) // "outbound buffer limit exceeded" says nothing
			}
			c.log.Warn("cannot follow the desired trace setting yet; retrying (what the agent holds stays enforced)", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-reconnected:
			backoff = 500 * time.Millisecond
		case <-time.After(backoff):
			backoff = min(2*backoff, 10*time.Second)
		}
	}
}

// watchOnce opens the bucket and watches the desired key until ctx ends
// (nil), the connection is re-established (nil) or the watch fails.
func (c *Controller) watchOnce(ctx context.Context, out chan settings.Desired, reconnected <-chan struct{}) error {
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	b, err := OpenBucket(octx, c.o.JS, c.o.Names)
	cancel()
	if err != nil {
		return err
	}
	c.bucket.Store(b)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go func() {
		select {
		case <-reconnected:
			wcancel()
		case <-wctx.Done():
		}
	}()
	seen := false
	return b.Watch(wctx, DesiredKey(c.o.Host), func(e Entry) {
		seen = true
		d := settings.Desired{Host: c.o.Host}
		if !e.Deleted && e.Desired != nil {
			d = *e.Desired
		}
		offer(out, d)
	}, func() {
		if !seen {
			offer(out, settings.Desired{Host: c.o.Host}) // no key yet: nothing applies
		}
	}, func(key string, err error) { c.log.Warn("undecodable desired setting ignored", "key", key, "err", err) })
}

// reconnects signals each time the NATS connection is (re-)established.
func (c *Controller) reconnects(ctx context.Context) <-chan struct{} {
	sig := make(chan struct{}, 1)
	nc := c.o.JS.Conn()
	if nc == nil {
		return sig
	}
	st := nc.StatusChanged(nats.CONNECTED)
	go func() {
		defer nc.RemoveStatusListener(st)
		for {
			select {
			case <-ctx.Done():
				return
			case <-st:
				select {
				case sig <- struct{}{}:
				default:
				}
			}
		}
	}()
	return sig
}

// offer replaces whatever is waiting in out by d: only the latest counts.
func offer(out chan settings.Desired, d settings.Desired) {
	for {
		select {
		case out <- d:
			return
		default:
			select {
			case <-out:
			default:
			}
		}
	}
}

// resync reads the desired setting directly, in case a watch missed a
// change (it never should; this bounds the damage if it does).
func (c *Controller) resync(ctx context.Context) {
	b := c.bucket.Load()
	if b == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d, err := b.Desired(rctx, c.o.Host)
	if err != nil {
		return // the watch loop reports connection trouble
	}
	c.converge(ctx, d)
}

// flushAck writes the pending acknowledgement, if any.
func (c *Controller) flushAck(ctx context.Context) {
	b := c.bucket.Load()
	if !c.ackDirty || b == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := b.PutApplied(pctx, c.st.Ack)
	switch {
	case err == nil:
		c.ackDirty = false
		if c.ackFailing {
			c.ackFailing = false
			c.log.Info("trace acknowledgements delivered again")
		}
	case !c.ackFailing:
		c.ackFailing = true
		c.log.Warn("trace acknowledgement not delivered; retrying every second", "err", err)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func settingID(s *settings.Setting) string {
	if s == nil {
		return ""
	}
	return s.ID
}

func describeSetting(s *settings.Setting) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%s (%s, %s by %s)", s.ID, s.Describe(), s.Target, s.SetBy)
}
