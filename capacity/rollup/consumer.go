package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
	"crmwatch/transport"
)

// Store is what the consumer needs of the store (store/sqlstore has it).
type Store interface {
	RollupProgress(ctx context.Context) (map[string]uint64, int64, error)
	FenceRollup(ctx context.Context, epoch int64) error
	CommitRollup(ctx context.Context, c Commit) error
	PruneRollups(ctx context.Context, now time.Time, keep Retention) (int64, error)
}

// LeaseKey is the rollup consumer's key in the evaluator bucket.
const LeaseKey = "rollup"

// ConsumerOptions configure a Consumer. JS, Names, Store and Lease are
// required.
type ConsumerOptions struct {
	JS    jetstream.JetStream
	Names transport.Names
	Store Store
	// Lease elects the one server that rolls up (transport.OpenNamedLease
	// with LeaseKey).
	Lease *transport.Lease
	// FlushEvery is how often the rolled-up deltas are committed (default 5s).
	FlushEvery time.Duration
	// MaxPending commits earlier once this many buckets wait (default 50,000).
	MaxPending int
	// Retention per resolution (default DefaultRetention; minutes at least
	// MinMinuteRetention); pruned every PruneEvery (default 1h).
	Retention  Retention
	PruneEvery time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (o ConsumerOptions) withDefaults() ConsumerOptions {
	if o.FlushEvery <= 0 {
		o.FlushEvery = 5 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 50_000
	}
	if o.Retention == nil {
		o.Retention = DefaultRetention()
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Consumer rolls the samples and events streams up into the store while
// its server holds the rollup lease.
type Consumer struct {
	o         ConsumerOptions
	active    atomic.Bool
	samples   prometheus.Counter
	commits   prometheus.Counter
	failures  prometheus.Counter
	commitDur prometheus.Histogram
}

// NewConsumer checks the options and registers the consumer's metrics.
func NewConsumer(o ConsumerOptions) (*Consumer, error) {
	if o.JS == nil || o.Store == nil || o.Lease == nil {
		return nil, errors.New("rollup consumer: JetStream, store and lease are required")
	}
	o = o.withDefaults()
	if m := o.Retention[Minute]; m < MinMinuteRetention {
		return nil, fmt.Errorf("rollup consumer: 1-minute retention %s is under the %s the console's dashboards need; keep at least %s",
			m, MinMinuteRetention, MinMinuteRetention)
	}
	c := &Consumer{o: o,
		samples:   prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rollup_samples_total", Help: "Samples rolled up into the capacity history."}),
		commits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rollup_commits_total", Help: "Rollup flushes committed to the store."}),
		failures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_rollup_commit_failures_total", Help: "Rollup flushes the store refused (the term ends and reads again from the committed positions)."}),
		commitDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crmwatch_rollup_commit_seconds", Help: "Time to commit one rollup flush.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
	if o.Registerer != nil {
		for _, m := range []prometheus.Collector{c.samples, c.commits, c.failures, c.commitDur} {
			if err := o.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("rollup consumer metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Run holds terms until ctx ends; a lost lease, a fenced or failed commit
// or a stopped reader ends a term, and the next one starts from what the
// store holds.
func (c *Consumer) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		epoch, err := c.o.Lease.Acquire(ctx)
		if err != nil {
			return nil
		}
		termCtx, end := context.WithCancel(ctx)
		lost := make(chan error, 1)
		go func() { lost <- c.o.Lease.Hold(termCtx) }()
		err = c.term(termCtx, int64(epoch))
		end()
		holdErr := <-lost
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			c.o.Lease.Release(rctx)
			cancel()
			return nil
		}
		c.o.Logger.Warn("capacity rollups stopped on this server; standing by", "epoch", epoch, "reason", errors.Join(err, holdErr))
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	return nil
}

// Active reports whether this consumer holds the rollup role now (the
// server writes scheduled reports only then, so several servers write each
// once).
func (c *Consumer) Active() bool { return c.active.Load() }

func (c *Consumer) term(ctx context.Context, epoch int64) error {
	if err := c.o.Store.FenceRollup(ctx, epoch); err != nil {
		return fmt.Errorf("take the rollup role: %w", err)
	}
	c.active.Store(true)
	defer c.active.Store(false)
	pos, _, err := c.o.Store.RollupProgress(ctx)
	if err != nil {
		return err
	}
	sName, eName := c.o.Names.SamplesStream(), c.o.Names.EventsStream()
	samples := transport.NewReader(transport.ReaderOptions{JS: c.o.JS, Stream: sName, After: pos[sName], Logger: c.o.Logger}, transport.DecodeBatch)
	events := transport.NewReader(transport.ReaderOptions{JS: c.o.JS, Stream: eName, After: pos[eName], Logger: c.o.Logger}, transport.DecodeBatch)
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = samples.Run(rctx) })
	wg.Go(func() { _ = events.Run(rctx) })
	defer func() { stop(); wg.Wait() }()

	c.o.Logger.Info("rolling up capacity history", "epoch", epoch, "samples_from", pos[sName]+1, "events_from", pos[eName]+1)
	agg := NewAggregator()
	reached := map[string]uint64{}
	flush := func(fctx context.Context) error {
		if len(reached) == 0 {
			return nil
		}
		n := agg.Samples()
		series, orgs := agg.Take()
		start := time.Now()
		if err := c.o.Store.CommitRollup(fctx, Commit{Epoch: epoch, Positions: reached, Series: series, Orgs: orgs}); err != nil {
			c.failures.Inc()
			return fmt.Errorf("commit rollups: %w", err)
		}
		c.commitDur.Observe(time.Since(start).Seconds())
		c.commits.Inc()
		c.samples.Add(float64(n))
		reached = map[string]uint64{}
		return nil
	}
	ticker := time.NewTicker(c.o.FlushEvery)
	defer ticker.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			// Commit what was rolled up: the positions go with it, so
			// nothing is lost or counted twice.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return flush(fctx)
		case it, ok := <-samples.C():
			if !ok {
				return fmt.Errorf("reading stream %s stopped", sName)
			}
			if it.Err == nil {
				agg.AddSamples(it.Value.Samples)
			}
			reached[sName] = it.Seq
		case it, ok := <-events.C():
			if !ok {
				return fmt.Errorf("reading stream %s stopped", eName)
			}
			if it.Err == nil {
				agg.AddEvents(it.Value.Events)
			}
			reached[eName] = it.Seq
		case now := <-ticker.C:
			if err := flush(ctx); err != nil {
				return err
			}
			if now.Sub(lastPrune) >= c.o.PruneEvery {
				lastPrune = now
				if n, err := c.o.Store.PruneRollups(ctx, now, c.o.Retention); err != nil {
					c.o.Logger.Warn("pruning capacity history", "err", err)
				} else if n > 0 {
					c.o.Logger.Debug("pruned capacity history", "rows", n)
				}
			}
			continue
		}
		if agg.Pending() >= c.o.MaxPending {
			if err := flush(ctx); err != nil {
				return err
			}
		}
	}
}

// AddBatch rolls one batch up (samples and events); the back-fill and
// tests use it beside the consumer's own path.
func (a *Aggregator) AddBatch(b event.Batch) {
	a.AddSamples(b.Samples)
	a.AddEvents(b.Events)
}
