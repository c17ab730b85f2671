package simulate

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"crmwatch/event"
)

// ErrClosed is returned by Run and Generate after the farm was closed (Run
// closes it when it returns).
var ErrClosed = errors.New("simulated farm is closed; create a new one with New")

// Farm is a simulated CRM farm: hosts with role mixes, tenant
// organizations, active faults and a simulated clock.
type Farm struct {
	opts    Options
	log     *slog.Logger
	orgs    []Org
	hosts   []*host
	faults  *faultState
	clock   clock
	mu      sync.Mutex // one of Run, Generate, Close at a time
	closed  bool
	started time.Time
	// counterHosts are the counter models of every host and SQL server
	// (by lower-case name); sqlNames the SQL servers, sorted.
	counterHosts map[string]*counterHost
	sqlNames     []string
}

// host is one simulated server and its outputs.
type host struct {
	spec     hostSpec
	trace    *traceOutput
	eventLog *eventLogOutput
	outs     []output
}

// New validates opts (every problem at once), creates the host directories
// and returns a farm ready to Run or Generate. Faults in opts.Faults are
// active from opts.Start until cleared.
func New(opts Options) (*Farm, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("simulate: invalid options: %w", err)
	}
	f := &Farm{
		opts:    opts,
		log:     opts.Logger.With("component", "simulate"),
		orgs:    buildTenants(opts.Seed, opts.Orgs),
		faults:  newFaultState(),
		clock:   clock{sim: opts.Start, speed: opts.Speed},
		started: opts.Start,
	}
	for _, name := range opts.Faults {
		f.faults.set(name, faultWindow{from: opts.Start})
	}
	for i := 0; i < opts.Hosts; i++ {
		spec := buildHostSpec(opts.Out, i)
		if err := os.MkdirAll(spec.TraceDir, 0o755); err != nil {
			return nil, fmt.Errorf("simulate: create trace folder of %s: %w (check --out is writable)", spec.Name, err)
		}
		if err := os.MkdirAll(spec.EventLogDir, 0o755); err != nil {
			return nil, fmt.Errorf("simulate: create event-log folder of %s: %w (check --out is writable)", spec.Name, err)
		}
		tr := newTraceOutput(traceConfig{
			spec:   spec,
			orgs:   f.orgs,
			faults: f.faults,
			opts:   opts,
			log:    f.log.With("host", spec.Name),
		})
		tr.pollSettings()
		el := newEventLogOutput(spec, f.orgs, f.faults, opts.Start, uint64(opts.Seed))
		f.hosts = append(f.hosts, &host{spec: spec, trace: tr, eventLog: el, outs: []output{tr, el}})
	}
	f.newCounterHosts()
	return f, nil
}

// Hosts describes the simulated servers in a fixed order.
func (f *Farm) Hosts() []Host {
	out := make([]Host, len(f.hosts))
	for i, h := range f.hosts {
		out[i] = h.spec.Host
		out[i].Roles = append([]event.Role(nil), h.spec.Roles...)
	}
	return out
}

// Orgs lists the tenant organizations.
func (f *Farm) Orgs() []Org {
	out := make([]Org, len(f.orgs))
	copy(out, f.orgs)
	for i := range out {
		out[i].users = nil
	}
	return out
}

// Now is the farm's simulated time.
func (f *Farm) Now() time.Time { return f.clock.now() }

// Inject starts the named fault now (simulated clock) for d of simulated
// time; d = 0 keeps it until Clear. Injecting an active fault restarts its
// window.
func (f *Farm) Inject(name string, d time.Duration) error {
	if _, err := lookupFault(name); err != nil {
		return fmt.Errorf("simulate: inject: %w", err)
	}
	if d < 0 {
		return fmt.Errorf("simulate: inject %q: duration %s is negative", name, d)
	}
	w := faultWindow{from: f.clock.now()}
	if d > 0 {
		w.until = w.from.Add(d)
	}
	f.faults.set(name, w)
	f.log.Info("fault injected", "fault", name, "from", w.from, "for", d)
	return nil
}

// Clear ends the named fault now; clearing an inactive or unknown fault does
// nothing.
func (f *Farm) Clear(name string) {
	f.faults.clear(name)
	f.log.Info("fault cleared", "fault", name)
}

// Stats reports per host what has been written so far.
func (f *Farm) Stats() []HostStats {
	out := make([]HostStats, len(f.hosts))
	for i, h := range f.hosts {
		out[i] = HostStats{Host: h.spec.Name, Trace: h.trace.statsSafe(), EventLog: h.eventLog.stats()}
	}
	return out
}

// Close flushes and closes every open file. Safe to call more than once.
func (f *Farm) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closeLocked()
}

func (f *Farm) closeLocked() error {
	if f.closed {
		return nil
	}
	f.closed = true
	var errs []error
	for _, h := range f.hosts {
		for _, o := range h.outs {
			if err := o.close(); err != nil {
				errs = append(errs, fmt.Errorf("host %s: %w", h.spec.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// forEachHost runs fn for every host concurrently and joins the errors.
func (f *Farm) forEachHost(fn func(h *host) error) error {
	errs := make([]error, len(f.hosts))
	var wg sync.WaitGroup
	for i, h := range f.hosts {
		wg.Go(func() {
			if err := fn(h); err != nil {
				errs[i] = fmt.Errorf("host %s: %w", h.spec.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// earliest returns the host's output with the earliest next item.
func (h *host) earliest() output {
	best := h.outs[0]
	for _, o := range h.outs[1:] {
		if o.next().Before(best.next()) {
			best = o
		}
	}
	return best
}

func (h *host) flush() error {
	var errs []error
	for _, o := range h.outs {
		errs = append(errs, o.flush())
	}
	return errors.Join(errs...)
}
