package simulate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"crmwatch/event"
)

// ctxCheckEvery bounds how many items a host writes between checks of ctx,
// so a fast clock (--speed) still stops promptly.
const ctxCheckEvery = 256

// maxIdleSteps is how many trace steps in a row may write nothing (the
// first after maxSkips filtered records) before Generate gives up on a host.
const maxIdleSteps = 3

// Generate writes n trace records per host as fast as possible (no
// sleeping), advancing the simulated clock by the inter-arrival times Rate
// implies, and flushes. Calls continue where the previous one stopped; call
// Close when done. Output is byte-identical for the same options.
func (f *Farm) Generate(n int) error {
	if n < 0 {
		return fmt.Errorf("simulate: generate: record count %d is negative", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	err := f.forEachHost(func(h *host) error {
		h.trace.pollSettings()
		if !h.trace.live.enabled {
			return nil // tracing is off on this host: nothing to write
		}
		idle := 0 // trace steps in a row that wrote nothing
		for written := 0; written < n; {
			o := h.earliest()
			k, err := o.step()
			if err != nil {
				return err
			}
			if o != output(h.trace) {
				continue
			}
			written += k
			if idle = (idle + 1) * (1 - min(k, 1)); idle == maxIdleSteps {
				return fmt.Errorf("trace categories %q let nothing through of what this %s server writes "+
					"(over %d records in a row dropped): widen the categories or inject a fault",
					h.trace.live.categories, strings.Join(event.RoleStrings(h.spec.Roles), "+"), maxSkips)
			}
		}
		return h.flush()
	})
	for _, h := range f.hosts {
		f.clock.reached(h.trace.next())
	}
	if err != nil {
		return fmt.Errorf("simulate: generate: %w", err)
	}
	return nil
}

// Run writes at Rate in real time (times Speed on the simulated clock) until
// ctx ends, then flushes and closes every file and returns nil; it returns an
// error only when writing fails. The farm cannot be used after Run.
func (f *Farm) Run(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.log.Info("simulated farm running", "hosts", len(f.hosts), "orgs", len(f.orgs),
		"rate", f.opts.Rate, "speed", f.opts.Speed, "out", f.opts.Out)
	f.clock.startRun()
	err := f.runLoop(ctx)
	f.clock.stopRun()
	if cerr := f.closeLocked(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	f.log.Info("simulated farm stopped", "simulated_time", f.clock.now())
	if err != nil {
		return fmt.Errorf("simulate: run: %w", err)
	}
	return nil
}

func (f *Farm) runLoop(ctx context.Context) error {
	tick := time.NewTicker(f.opts.FlushInterval)
	defer tick.Stop()
	for {
		now := f.clock.now()
		if err := f.forEachHost(func(h *host) error { return h.advance(ctx, now) }); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// advance writes every item due up to simulated time until, then flushes.
func (h *host) advance(ctx context.Context, until time.Time) error {
	h.trace.pollSettings()
	for i := 0; ; i++ {
		if i%ctxCheckEvery == ctxCheckEvery-1 && ctx.Err() != nil {
			break
		}
		o := h.earliest()
		if o.next().After(until) {
			break
		}
		if _, err := o.step(); err != nil {
			return err
		}
	}
	return h.flush()
}
