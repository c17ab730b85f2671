// Package tail follows a directory of multi-line log files (CRM platform
// trace files) the way a production log shipper must: across new files,
// size roll-over (-1.log → -2.log), date change, rename, deletion and
// copytruncate, reading files another process holds open for writing, and
// resuming after a restart or crash from persisted checkpoints with no record
// lost.
//
// The design copies the OpenTelemetry stanza fileconsumer: a file is known by
// its fingerprint (its first bytes, grown while the file is shorter) and an
// offset, so offsets survive renames; a poll loop is the source of truth
// (it works on SMB/NFS shares where no change notifications arrive), and
// fsnotify on the directories names the files to look at between scans; a
// file that leaves the pattern is drained through the still-open handle
// before it is forgotten. Its cost follows the records, not the files: idle
// files are closed and stat'ed on a slow turn, and checkpoints are a journal
// of the files that changed (see store).
//
// The tailer knows nothing about the trace format: the caller says which line
// starts a record (Options.StartsRecord). A record is handed over only when it
// is complete — the next record head was seen, or the file has been idle for
// Options.IdleFlush — and a checkpoint advances only after the Handler
// returned nil for every record before it, so delivery is at-least-once and a
// hard crash can re-send only the last batch (which the receiver drops by
// fingerprint and offset).
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults, the one source for the tailer and the collectors built on it.
const (
	DefaultPattern         = "*.log"
	DefaultPollInterval    = 500 * time.Millisecond
	DefaultIdleFlush       = 100 * time.Millisecond
	DefaultPartialFlush    = 2 * time.Second
	DefaultCloseAfter      = 5 * time.Second
	DefaultColdPoll        = 2 * time.Second
	DefaultMaxRecordBytes  = 1 << 20 // 1 MiB; longer records are truncated and counted
	DefaultBatchRecords    = 500
	DefaultBatchBytes      = 1 << 20
	DefaultFingerprintSize = 1024
	DefaultForgetAfter     = 24 * time.Hour
	DefaultCheckpointSync  = time.Second

	maxHeaderBytes = 64 << 10 // the '#' preamble of a CRM trace file is a few hundred bytes
	readChunk      = 64 << 10
	readBudget     = 8 << 20 // bytes read from one file before the others get a turn
	maxBackoff     = 10 * time.Second
)

// Record is one complete record. Data is only valid during the Handler call.
type Record struct {
	// Offset is the byte offset of the record's first byte in the file.
	Offset int64
	// Data is the record without its final line terminator.
	Data []byte
	// Truncated is set when the record was longer than MaxRecordBytes and
	// only its first MaxRecordBytes bytes are in Data.
	Truncated bool
	// Continued is set when the record does not start with a record head:
	// its start was flushed earlier because the file was idle, or the
	// tailer started at the end of a file in the middle of a record.
	Continued bool
}

// Batch is a run of consecutive complete records from one file.
type Batch struct {
	Path string
	// Name is the path the lineage was first followed under. CRM trace
	// file names carry the machine and process; a handler that reads them
	// from the name uses Name, which stays the same when the records come
	// from a renamed file or a rotated copy (named anything).
	Name string
	// Fingerprint is the file's stable identity (hex), the same across
	// renames and restarts; with Record.Offset it identifies a record.
	Fingerprint string
	// Header is the file's preamble: the lines before its first record
	// (the '#' block of a CRM trace file). The same bytes come with every
	// batch of a file, so a handler needs no per-file state.
	Header  []byte
	Records []Record
	// End is the offset just past the last record; the checkpoint moves
	// there once the handler returns nil.
	End int64
}

// Handler receives batches. It returns nil only when the batch is durably
// handed over; on error the same batch is offered again after a back-off.
type Handler func(ctx context.Context, b Batch) error

// Options configure a Tailer. Zero values take the Default* constants.
type Options struct {
	// Dirs are the directories to follow (required).
	Dirs []string
	// Pattern is a filepath.Match glob for file names in Dirs.
	Pattern string
	// StartsRecord reports whether a line (without its line terminator)
	// begins a record (required).
	StartsRecord func(line []byte) bool
	// Handler receives complete records (required).
	Handler Handler
	// StateDir holds the checkpoint file; empty means no checkpoints.
	StateDir string
	// RotatedPatterns are globs (relative ones in each of Dirs) where
	// rotated copies of the files go when they are not in Pattern, e.g.
	// "*.log.1" or "archive/*.log". When a file is truncated (copytruncate)
	// or replaced before all its records were read — while the agent was
	// stopped, or between two scans — the copy is found there by its
	// fingerprint and the rest of the records read from it.
	RotatedPatterns []string
	// StartAtEnd starts files found on the first scan at their end when no
	// checkpoint state exists yet (a first run does not ship history).
	// Files that appear later are always read from their beginning.
	StartAtEnd bool
	// ExitAtEOF makes Run read every file to its end once, hand over every
	// pending record and return (offline reading).
	ExitAtEOF bool
	// PollInterval is how often directories are rescanned.
	PollInterval time.Duration
	// IdleFlush is how long a file must not grow before its last record
	// is considered complete, when it ends with a whole line. It is the
	// floor of the delay from a record's write to its hand-over.
	IdleFlush time.Duration
	// PartialFlush is how long a file must not grow before a last line
	// without its line terminator is taken as complete: a writer that
	// flushed its buffer in the middle of a line is about to write the
	// rest. A lineage that received continuation lines after its record
	// was handed over waits longer from then on (up to PartialFlush).
	PartialFlush time.Duration
	// CloseAfter closes the handle of a file idle this long (reopened, and
	// its first bytes compared with its fingerprint, when it grows), so
	// idle trace files pin no handles.
	CloseAfter time.Duration
	// ColdPollInterval is how often a scan stats a file whose handle was
	// closed for idleness (files with an open handle: every scan), so the
	// cost of a scan follows the files being written, not the files
	// present. A notification naming the file checks it at once; without
	// notifications (network shares) an idle file's first new record waits
	// up to this long. At least PollInterval.
	ColdPollInterval time.Duration
	// MaxRecordBytes caps one record's size in memory.
	MaxRecordBytes int
	// BatchRecords and BatchBytes cap a batch.
	BatchRecords int
	BatchBytes   int
	// FingerprintSize is how many leading bytes identify a file.
	FingerprintSize int
	// ForgetAfter drops checkpoints of files gone for this long.
	ForgetAfter time.Duration
	// CheckpointSync bounds how often the checkpoint file is fsynced. Every
	// accepted batch is written at once (a process crash re-sends at most
	// that batch); a power loss may re-send up to this much more.
	CheckpointSync time.Duration
	// DisableNotify turns off the fsnotify wake-up hint (polling only).
	DisableNotify bool
	// Logger and Registerer are optional.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setInt := func(i *int, def int) {
		if *i <= 0 {
			*i = def
		}
	}
	if o.Pattern == "" {
		o.Pattern = DefaultPattern
	}
	setDur(&o.PollInterval, DefaultPollInterval)
	setDur(&o.IdleFlush, DefaultIdleFlush)
	setDur(&o.PartialFlush, DefaultPartialFlush)
	o.PartialFlush = max(o.PartialFlush, o.IdleFlush)
	setDur(&o.CloseAfter, DefaultCloseAfter)
	setDur(&o.ColdPollInterval, DefaultColdPoll)
	o.ColdPollInterval = max(o.ColdPollInterval, o.PollInterval)
	setDur(&o.ForgetAfter, DefaultForgetAfter)
	setDur(&o.CheckpointSync, DefaultCheckpointSync)
	setInt(&o.MaxRecordBytes, DefaultMaxRecordBytes)
	setInt(&o.BatchRecords, DefaultBatchRecords)
	setInt(&o.BatchBytes, DefaultBatchBytes)
	setInt(&o.FingerprintSize, DefaultFingerprintSize)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if len(o.Dirs) == 0 {
		errs = append(errs, errors.New("tail: no directory to follow"))
	}
	if _, err := filepath.Match(o.Pattern, "x"); err != nil {
		errs = append(errs, fmt.Errorf("tail: pattern %q: %w", o.Pattern, err))
	}
	for i, p := range o.RotatedPatterns {
		if _, err := filepath.Match(p, "x"); err != nil || p == "" {
			errs = append(errs, fmt.Errorf("tail: rotated pattern %d %q: not a valid glob", i, p))
		}
	}
	if o.StartsRecord == nil {
		errs = append(errs, errors.New("tail: StartsRecord is required"))
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("tail: Handler is required"))
	}
	return errors.Join(errs...)
}

// Tailer follows the files of Options.Dirs. It is not safe for concurrent
// use; Run drives it from one goroutine.
type Tailer struct {
	opts      Options
	log       *slog.Logger
	m         *metrics
	readers   []*reader          // active files, in adoption order
	byPath    map[string]*reader // current path → reader
	retired   *retiredSet        // files gone (or loaded from disk, not yet seen)
	gen       uint64             // poll generation
	batch     batch              // records not yet accepted by the handler
	fresh     bool               // no checkpoint state existed at start
	buf       []byte             // read buffer
	wake      chan struct{}
	hints     hints           // what notifications said since the last turn
	forced    map[string]bool // paths the next scan stats whatever their turn
	waiting   []*reader       // lineages that may have a record in progress
	match     matcher         // Options.Pattern
	dirs      []dirListing    // per Options.Dirs
	listed    []string        // matching files of the last listing
	slots     uint64          // next reader.slot
	statAll   bool            // the next scan stats every file
	trust     trust           // whether notifications announce writes
	lost      []checkpoint    // lineages found shorter than their checkpoint, to settle
	work      []*reader       // the readers a scan advances, reused
	unadopted []string        // listed files the last scan did not adopt (empty, unreadable, a copy being read)

	store   *store         // nil without StateDir
	changed []*reader      // lineages whose checkpoint moved since the last save
	queued  []journalEntry // retired and forgotten lineages to journal
	jbuf    []byte         // journal lines being written
	broken  bool           // a journal write failed: the next save compacts
	synced  time.Time      // last fsync of the checkpoint state
}

// New checks opts and loads the checkpoint state.
func New(opts Options) (*Tailer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	t := &Tailer{
		opts:   opts,
		log:    opts.Logger.With("component", "tail"),
		m:      m,
		byPath: make(map[string]*reader),
		buf:    make([]byte, readChunk),
		wake:   make(chan struct{}, 1),
		forced: map[string]bool{},
		match:  newMatcher(opts.Pattern),
		dirs:   make([]dirListing, len(opts.Dirs)),
	}
	t.retired, t.fresh = newRetiredSet(nil), true
	if opts.StateDir == "" {
		return t, nil
	}
	st, cps, found, torn, err := openStore(opts.StateDir)
	if err != nil {
		return nil, err
	}
	t.store, t.retired, t.fresh = st, newRetiredSet(cps), !found
	if torn {
		t.log.Warn("the checkpoint journal ended in a cut-off line (a crash while writing it); it was dropped, so its file may re-send one batch",
			"dir", opts.StateDir)
		if err := t.compact(time.Now()); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Run follows the files until ctx ends (or, with ExitAtEOF, until every file
// was read once). It returns nil on cancellation; handler errors are retried
// with back-off, counted, and never end Run.
//
// A full scan (list the directories, stat every file) runs every
// PollInterval and whenever a notification says a file was created,
// removed or renamed. A notification that a known file was written checks
// just that file, and a file with a record in progress is revisited when
// its idle time is up, so neither waits for the next full scan.
func (t *Tailer) Run(ctx context.Context) error {
	defer t.closeAll()
	if t.opts.ExitAtEOF {
		return t.runOnce(ctx)
	}
	if !t.opts.DisableNotify {
		stop := t.startNotify(ctx)
		defer stop()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var nextScan time.Time // zero: scan now
	backoff := time.Duration(0)
	for {
		var more bool
		var err error
		turn := time.Now()
		paths, full, lost := t.hints.take()
		t.settle(paths, turn)
		t.statAll = t.statAll || lost
		if now := time.Now(); full || !now.Before(nextScan) {
			for _, p := range paths {
				t.forced[p] = true
			}
			more, err = t.poll(ctx)
			nextScan = now.Add(t.opts.PollInterval)
		} else {
			var rescan bool
			more, rescan, err = t.check(ctx, paths)
			if rescan {
				nextScan = time.Time{}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			backoff = min(max(2*backoff, t.opts.PollInterval), maxBackoff)
			t.log.Debug("handing over records failed; retrying", "in", backoff, "err", err)
			nextScan = time.Now().Add(backoff)
			if !sleep(ctx, timer, backoff) { // a wake-up must not cut a back-off short
				return nil
			}
			continue
		}
		backoff = 0
		if more {
			nextScan = time.Time{}
			continue
		}
		// Every turn completes the records whose idle time is up; a turn
		// just for that comes at most every IdleFlush/4 after the last one,
		// so records trickling into many files are completed a few at a
		// time (at most IdleFlush/4 late) instead of one wake-up each.
		wake := nextScan
		if idle, ok := t.nextIdle(); ok {
			if soonest := turn.Add(t.opts.IdleFlush / 4); idle.Before(soonest) {
				idle = soonest
			}
			if idle.Before(wake) {
				wake = idle
			}
		}
		timer.Reset(max(time.Until(wake), 0))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-t.wake:
			if !timer.Stop() {
				<-timer.C
			}
		}
	}
}

// runOnce reads every file to its end, hands over every pending record and
// returns (ExitAtEOF).
func (t *Tailer) runOnce(ctx context.Context) error {
	for {
		more, err := t.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if !more {
			return t.flushAll(ctx)
		}
	}
}

func sleep(ctx context.Context, timer *time.Timer, d time.Duration) bool {
	timer.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// flushAll hands over the last record of every file (ExitAtEOF).
func (t *Tailer) flushAll(ctx context.Context) error {
	for _, r := range t.readers {
		if err := t.flushPending(ctx, r); err != nil {
			return err
		}
	}
	t.synced = time.Time{}
	return t.save()
}
