package simulate

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Trace output tuning.
const (
	// inflight is how many requests a host traces concurrently; their
	// records interleave in the files as on a busy server.
	inflight = 4
	// maxSkips bounds how many records the Categories filter may drop in a
	// row before step gives up on this record slot (a filter that matches
	// nothing the host writes must not spin forever). After a fruitless step
	// the budget halves down to minSkips, so such a host costs little CPU
	// in Run; a record written restores it.
	maxSkips = 20000
	minSkips = 64
	// outputTrace is the trace output's random-stream slot.
	outputTrace = 0
)

// traceConfig is what the trace output of one host needs.
type traceConfig struct {
	spec   hostSpec
	orgs   []Org
	faults *faultState
	opts   Options
	log    *slog.Logger
}

// traceOutput writes one host's platform trace files.
type traceOutput struct {
	cfg     traceConfig
	r       *rand.Rand
	tenants tenantPicker
	procs   []*process // indexed by procKind; nil when not on this host
	pcumul  []int      // cumulative weights over cfg.spec.procs
	t       time.Time  // simulated time of the next record
	spans   []*span    // requests in flight
	buf     []byte     // record being formatted
	hdr     []byte     // header being formatted (a roll-over happens mid-record)
	nl      string
	closed  bool
	skips   int // current skip budget (maxSkips..minSkips)
	// live is what the host traces now; settings, when set, is the file
	// that changes it (Options.SettingsDir).
	live     traceLive
	settings *settingsFile

	mu sync.Mutex // guards st (read by Farm.Stats from other goroutines)
	st OutputStats
}

// span is one request (or unit of work) traced as several records sharing
// process, thread, organization, user and ReqId.
type span struct {
	proc       *process
	org        *Org // nil: deployment-level work (zero GUID)
	user       string
	reqID      string // "" writes an empty ReqId
	activityID string
	thread     string
	recs       []recSpec
	i          int
	// after runs once the span's last record is written (a crash restarts
	// the process).
	after func() error
}

func (s *span) orgID() string {
	if s.org == nil {
		return zeroGUID
	}
	return s.org.ID
}

// recSpec is one record of a span.
type recSpec struct {
	cat    string
	lvl    level
	op     string // Class.Method
	il     int    // ilOffset; -1 for none
	msg    string // lines separated by "\n"
	onHead bool   // message starts on the head line after " >"
}

func newTraceOutput(cfg traceConfig) *traceOutput {
	o := &traceOutput{
		cfg:     cfg,
		r:       newRand(cfg.opts.Seed, streamHosts+uint64(cfg.spec.index)*16+outputTrace),
		tenants: newTenantPicker(cfg.orgs),
		procs:   make([]*process, len(procInfos)),
		t:       cfg.opts.Start,
		nl:      "\r\n",
		skips:   maxSkips,
		live:    liveFromOptions(cfg.opts),
	}
	if p := settingsPath(cfg.opts.SettingsDir, cfg.spec.Name); p != "" {
		o.settings = &settingsFile{path: p}
	}
	if cfg.opts.LF {
		o.nl = "\n"
	}
	sum := 0
	for _, k := range cfg.spec.procs {
		p := &process{kind: k, info: procInfos[k]}
		p.pid = o.newPID()
		p.id = fmt.Sprintf("%08X", o.r.Uint32())
		for range 12 + o.r.IntN(20) {
			p.threads = append(p.threads, threadBase(k)+o.r.IntN(threadSpread(k)))
		}
		o.procs[k] = p
		sum += p.info.weight
		o.pcumul = append(o.pcumul, sum)
	}
	// Help runs in the CRMWeb worker process: same pid, own app domain id
	// (reference §2.3: CRM02-w3wp(15248#65568210)-CRMWeb and
	// CRM02-w3wp(15248#E3C634E2)-Help).
	if web, help := o.procs[procWeb], o.procs[procHelp]; web != nil && help != nil {
		help.pid = web.pid
	}
	return o
}

func threadBase(k procKind) int {
	if k == procSandboxHost || k == procSandboxWorker {
		return 90
	}
	return 3
}

func threadSpread(k procKind) int {
	if k == procAsync {
		return 40
	}
	return 80
}

func (o *traceOutput) next() time.Time { return o.t }

// step writes the next record the Categories filter lets through at o.t and
// moves o.t on by an exponential inter-arrival time (Poisson arrivals at
// Rate). If the filter drops maxSkips records in a row it writes nothing
// and only moves the clock.
func (o *traceOutput) step() (int, error) {
	if o.closed {
		return 0, ErrClosed
	}
	t := o.t
	o.t = t.Add(o.interarrival())
	if !o.live.enabled {
		return 0, nil // TraceEnabled=0: the host writes nothing
	}
	for range o.skips {
		s, rs, err := o.nextRecord(t)
		if err != nil {
			return 0, err
		}
		if !o.live.filter.allows(rs.cat, rs.lvl) {
			if err := o.finish(s); err != nil {
				return 0, err
			}
			continue
		}
		if err := o.write(s, rs, t); err != nil {
			return 0, err
		}
		o.skips = maxSkips
		return 1, o.finish(s)
	}
	o.skips = max(o.skips/2, minSkips)
	return 0, nil
}

func (o *traceOutput) interarrival() time.Duration {
	u := 1 - o.r.Float64() // (0,1]
	d := -math.Log(u) / o.cfg.opts.Rate
	return time.Duration(d * float64(time.Second))
}

// nextRecord picks an in-flight request (starting new ones to keep
// `inflight` busy) and returns its next record.
func (o *traceOutput) nextRecord(t time.Time) (*span, *recSpec, error) {
	for len(o.spans) < inflight {
		s, err := o.newSpan(t)
		if err != nil {
			return nil, nil, err
		}
		if len(s.recs) > 0 {
			o.spans = append(o.spans, s)
		}
	}
	s := o.spans[o.r.IntN(len(o.spans))]
	rs := &s.recs[s.i]
	s.i++
	return s, rs, nil
}

// finish retires s once its last record is out.
func (o *traceOutput) finish(s *span) error {
	if s.i < len(s.recs) {
		return nil
	}
	for i, x := range o.spans {
		if x == s {
			o.spans = append(o.spans[:i], o.spans[i+1:]...)
			break
		}
	}
	if s.after != nil {
		return s.after()
	}
	return nil
}

// write formats rs and appends it to its process's current file.
func (o *traceOutput) write(s *span, rs *recSpec, t time.Time) error {
	rec := o.appendRecord(o.buf[:0], s, rs, t)
	o.buf = rec
	tf, err := o.fileFor(s.proc, t, len(rec))
	if err != nil {
		return err
	}
	if _, err := tf.w.Write(rec); err != nil {
		return fmt.Errorf("write %s: %w", tf.path, err)
	}
	tf.size += int64(len(rec))
	tf.records++
	o.mu.Lock()
	o.st.Records++
	o.st.Bytes += int64(len(rec))
	o.mu.Unlock()
	return nil
}

func (o *traceOutput) flush() error {
	var errs []error
	for _, p := range o.procs {
		if p != nil && p.file != nil {
			if err := p.file.w.Flush(); err != nil {
				errs = append(errs, fmt.Errorf("flush %s: %w", p.file.path, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (o *traceOutput) close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	for _, p := range o.procs {
		if p != nil {
			errs = append(errs, p.closeFile())
		}
	}
	return errors.Join(errs...)
}

func (o *traceOutput) stats() OutputStats { return o.statsSafe() }

func (o *traceOutput) statsSafe() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.st
}
