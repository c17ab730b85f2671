package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/event"
	"crmwatch/notify"
	"crmwatch/rules"
	"crmwatch/store"
	"crmwatch/transport"
)

// evaluatorStore is what the evaluator needs of the store.
type evaluatorStore interface {
	store.Alerts
	store.Evaluator
	store.Outbox
	store.Suppressions
}

// evaluator runs the rules engine on the one server that holds the
// evaluator lease; the others stand by and serve the API. While it holds
// the lease (a term) it reads the events and samples streams in order from
// the positions committed in the store, evaluates each batch once, and
// commits the alert changes with the new positions and dedup marks in one
// transaction, so a crash anywhere replays exactly what was not committed.
// A term ends when the lease is lost or the store fences this server off;
// the engine's state is then dropped and rebuilt from the store next term.
type evaluator struct {
	engine  *rules.Engine
	st      evaluatorStore
	js      jetstream.JetStream
	names   transport.Names
	lease   *transport.Lease
	holder  string
	beats   *beatQueue
	agents  *transport.Directory
	groups  func() map[string][]string // host (lower case) → server groups
	tick    time.Duration
	publish *changePublisher
	log     *slog.Logger
	m       *evalMetrics
	// health feeds the receivers' health to the engine on ticks (nil: none).
	health *notify.HealthFeed

	// Term state, used only by the evaluator goroutine.
	epoch     int64
	pending   []alerts.Change
	positions map[string]uint64
	marks     *transport.Marks
	sup       *suppress.Set
	supDirty  bool // re-check open alerts against the suppressions
	nudge     chan struct{}
}

// maxBatch is the most stream messages evaluated and committed together.
const maxBatch = 256

// send is the engine's Sender: changes wait for the next commit.
func (v *evaluator) send(_ context.Context, cs []alerts.Change) error {
	v.pending = append(v.pending, cs...)
	return nil
}

// run holds terms until ctx ends; a lost lease or a fenced commit ends a
// term, and the server stands by for the next one.
func (v *evaluator) run(ctx context.Context) error {
	for ctx.Err() == nil {
		epoch, err := v.lease.Acquire(ctx)
		if err != nil {
			return nil // ctx ended
		}
		termCtx, endTerm := context.WithCancel(ctx)
		lost := make(chan error, 1)
		go func() { lost <- v.lease.Hold(termCtx) }()
		err = v.term(termCtx, int64(epoch))
		endTerm()
		holdErr := <-lost
		v.m.active.Set(0)
		v.engine.Reset()
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			v.lease.Release(rctx)
			cancel()
			return nil
		}
		v.log.Warn("this server stopped evaluating rules; standing by", "epoch", epoch, "reason", errors.Join(err, holdErr))
		if !sleepCtx(ctx, time.Second) {
			return nil
		}
	}
	return nil
}

// term evaluates while this server holds the lease at epoch.
func (v *evaluator) term(ctx context.Context, epoch int64) error {
	if err := v.st.Fence(ctx, v.holder, epoch); err != nil {
		return fmt.Errorf("take the evaluator role: %w", err)
	}
	v.m.terms.Inc()
	v.epoch, v.pending = epoch, nil
	progress, err := v.st.Progress(ctx)
	if err != nil {
		return err
	}
	v.positions = progress.Positions
	legacy, err := v.adoptLegacyPositions(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	restored, err := v.st.EngineAlerts(ctx, now.Add(-v.engine.MaxReopenWithin()))
	if err != nil {
		return err
	}
	v.engine.Reset()
	v.engine.Restore(restored)
	if v.health != nil {
		v.health.Reset()
	}
	for _, r := range v.agents.List() {
		if !r.Stopped {
			_ = v.engine.Heartbeat(ctx, r.Name, r.Roles, r.LastHeartbeat)
		}
	}
	v.engine.Resume(now)
	v.marks = transport.NewMarks(0)
	v.marks.Load = func(k string) (string, bool, error) { return v.st.Mark(ctx, k) }
	v.loadSuppressions(ctx)

	events := transport.NewReader(transport.ReaderOptions{JS: v.js, Stream: v.names.EventsStream(),
		After: v.positions[v.names.EventsStream()], Logger: v.log}, transport.DecodeBatch)
	samples := transport.NewReader(transport.ReaderOptions{JS: v.js, Stream: v.names.SamplesStream(),
		After: v.positions[v.names.SamplesStream()], Logger: v.log}, transport.DecodeBatch)
	rctx, stopReaders := context.WithCancel(ctx)
	var readers sync.WaitGroup
	var readErrs [2]error
	readers.Go(func() { readErrs[0] = events.Run(rctx) })
	readers.Go(func() { readErrs[1] = samples.Run(rctx) })
	defer func() { stopReaders(); readers.Wait() }()
	readerStopped := func(stream string) error {
		stopReaders()
		readers.Wait()
		if ctx.Err() != nil {
			return nil // stopping: the readers closed because of it
		}
		return fmt.Errorf("reading stream %s stopped: %w", stream, errors.Join(readErrs[:]...))
	}

	if err := v.engine.Tick(ctx, now); err != nil {
		return err
	}
	if err := v.commit(ctx, legacy); err != nil {
		return err
	}
	v.m.active.Set(1)
	v.log.Info("evaluating rules", "epoch", epoch, "open_alerts", len(v.engine.OpenAlerts()),
		"events_from", v.positions[v.names.EventsStream()]+1, "samples_from", v.positions[v.names.SamplesStream()]+1)
	ticker := time.NewTicker(v.tick)
	defer ticker.Stop()
	lastSweep := time.Time{}
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case it, ok := <-events.C():
			if !ok {
				return readerStopped(v.names.EventsStream())
			}
			err = v.evalEvents(ctx, drain(events.C(), it))
		case it, ok := <-samples.C():
			if !ok {
				return readerStopped(v.names.SamplesStream())
			}
			err = v.evalSamples(ctx, drain(samples.C(), it))
		case <-v.beats.ready:
			for _, r := range v.beats.take() {
				_ = v.engine.Heartbeat(ctx, r.Name, r.Roles, r.LastHeartbeat)
			}
			err = v.commit(ctx, nil)
		case <-v.nudge:
			v.loadSuppressions(ctx)
		case now := <-ticker.C:
			if v.health != nil {
				if ss := v.health.Samples(ctx, now); len(ss) > 0 {
					err = v.engine.ProcessSamples(ctx, ss)
				}
			}
			if err != nil {
				return err
			}
			if err = v.engine.Tick(ctx, now); err == nil {
				err = v.commit(ctx, nil)
			}
			if err == nil && (v.supDirty || now.Sub(lastSweep) >= suppressionSweep) {
				lastSweep = now
				err = v.sweepSuppressions(ctx, now)
			}
		}
		if err != nil {
			return err
		}
	}
}

// suppressionSweep is how often open alerts are checked against windows
// that open and close by time.
const suppressionSweep = 10 * time.Second

// drain returns first and whatever else is waiting, up to maxBatch.
func drain[T any](c <-chan transport.Item[T], first transport.Item[T]) []transport.Item[T] {
	items := []transport.Item[T]{first}
	for len(items) < maxBatch {
		select {
		case it, ok := <-c:
			if !ok {
				return items
			}
			items = append(items, it)
		default:
			return items
		}
	}
	return items
}

func (v *evaluator) evalEvents(ctx context.Context, items []transport.Item[event.Batch]) error {
	stream := v.names.EventsStream()
	var evs []event.Event
	for _, it := range items {
		if it.Err != nil {
			v.malformed(stream, it)
			continue
		}
		evs = append(evs, it.Value.Events...)
	}
	v.m.messages.WithLabelValues("events").Add(float64(len(items)))
	kept, dropped, err := v.marks.Filter(evs)
	if err != nil {
		return err // the store is unreachable: the term ends, the batch is read again
	}
	v.m.deduped.WithLabelValues("events").Add(float64(dropped))
	if err := v.engine.ProcessEvents(ctx, kept); err != nil {
		return err
	}
	v.m.observations.WithLabelValues("events").Add(float64(len(kept)))
	return v.commit(ctx, map[string]uint64{stream: items[len(items)-1].Seq})
}

func (v *evaluator) evalSamples(ctx context.Context, items []transport.Item[event.Batch]) error {
	stream := v.names.SamplesStream()
	var ss []event.Sample
	for _, it := range items {
		if it.Err != nil {
			v.malformed(stream, it)
			continue
		}
		ss = append(ss, it.Value.Samples...)
	}
	v.m.messages.WithLabelValues("samples").Add(float64(len(items)))
	if err := v.engine.ProcessSamples(ctx, ss); err != nil {
		return err
	}
	v.m.observations.WithLabelValues("samples").Add(float64(len(ss)))
	return v.commit(ctx, map[string]uint64{stream: items[len(items)-1].Seq})
}

func (v *evaluator) malformed(stream string, it transport.Item[event.Batch]) {
	label := "events"
	if stream == v.names.SamplesStream() {
		label = "samples"
	}
	v.m.malformed.WithLabelValues(label).Inc()
	v.log.Warn("malformed message skipped", "stream", stream, "seq", it.Seq, "subject", it.Subject, "err", it.Err)
}

// commit stores the pending changes with the stream positions they reach
// and the dedup marks they moved, in one transaction, retrying until the
// store takes them: the batch is never evaluated twice. An in-flight
// commit is not interrupted by a stop (it is short); a stop between
// attempts leaves nothing of the batch stored, so the next term reads it
// again. A fenced commit ends the term.
func (v *evaluator) commit(ctx context.Context, moved map[string]uint64) error {
	maps.Copy(v.positions, moved)
	marks := v.marks.Dirty()
	if len(v.pending) == 0 && len(moved) == 0 && len(marks) == 0 {
		return nil
	}
	v.suppressNew(time.Now())
	c := store.Commit{Epoch: v.epoch, Changes: v.pending, Positions: maps.Clone(v.positions), Marks: marks}
	var done []alerts.Committed
	stored, err := retryCommit(ctx, v.log, len(c.Changes), func(cctx context.Context) error {
		start := time.Now()
		var err error
		done, err = v.st.Commit(cctx, c)
		v.m.commitSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			v.m.commitErrors.Inc()
		}
		return err
	})
	if err != nil || !stored {
		return err
	}
	v.pending = v.pending[:0]
	v.marks.Committed()
	for s, seq := range v.positions {
		v.m.position.WithLabelValues(s).Set(float64(seq))
	}
	v.publish.enqueue(done)
	return nil
}

// commitTimeout bounds one commit attempt. An attempt that ran out of time
// gives the next one twice as long, up to maxCommitTimeout: a store that is
// only slow (thousands of changes after an outage, on a busy disk) then
// takes the batch, instead of being retried with the same too-short
// deadline for ever, while a dead connection still fails in bounded time.
var commitTimeout = 30 * time.Second

const maxCommitTimeout = 10 * time.Minute

// retryCommit runs commit until it succeeds (stored), is fenced (the
// error), or ctx ends between attempts (not stored, no error: the next
// term reads the batch again). An attempt in flight is not interrupted by a
// stop.
func retryCommit(ctx context.Context, log *slog.Logger, changes int, commit func(context.Context) error) (stored bool, err error) {
	backoff, timeout, logged := 100*time.Millisecond, commitTimeout, false
	for {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		err := commit(cctx)
		expired := errors.Is(cctx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			if logged {
				log.Info("alert changes committed again", "changes", changes)
			}
			return true, nil
		}
		if errors.Is(err, store.ErrFenced) {
			return false, err
		}
		if expired {
			timeout = min(timeout*2, maxCommitTimeout)
		}
		if !logged {
			log.Warn("alert changes not committed yet; reading stops until the store takes them", "changes", changes, "err", err, "next_timeout", timeout)
			logged = true
		}
		if !sleepCtx(ctx, backoff) {
			return false, nil
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// adoptLegacyPositions resumes streams without a stored position where the
// shared durable consumer of the previous release left them.
func (v *evaluator) adoptLegacyPositions(ctx context.Context) (map[string]uint64, error) {
	adopted := map[string]uint64{}
	for _, stream := range []string{v.names.EventsStream(), v.names.SamplesStream()} {
		if _, ok := v.positions[stream]; ok {
			continue
		}
		seq, ok, err := transport.LegacyPosition(ctx, v.js, v.names, stream)
		if err != nil {
			return nil, err
		}
		if ok {
			adopted[stream] = seq
			v.log.Info("resuming where the previous release's consumer left the stream", "stream", stream, "position", seq)
		}
	}
	return adopted, nil
}
