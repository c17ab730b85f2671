package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
	"crmwatch/store"
	"crmwatch/transport"
)

// changePublisher moves committed alert changes from the store's outbox to
// the alert-changes stream. Changes a server commits are handed over at
// once (enqueue); a sweep publishes whatever is still unpublished — changes
// of a server that crashed after committing, or of a moment NATS was away —
// so every committed change reaches the stream, and the message id makes a
// change published twice count once.
type changePublisher struct {
	js    jetstream.JetStream
	names transport.Names
	st    store.Outbox
	log   *slog.Logger
	m     *evalMetrics
	queue chan []alerts.Committed
}

func newChangePublisher(js jetstream.JetStream, names transport.Names, st store.Outbox, log *slog.Logger, m *evalMetrics) *changePublisher {
	return &changePublisher{js: js, names: names, st: st, log: log, m: m, queue: make(chan []alerts.Committed, 1024)}
}

// enqueue hands committed changes over without waiting; when the queue is
// full the sweep publishes them a moment later.
func (p *changePublisher) enqueue(cs []alerts.Committed) {
	if len(cs) == 0 {
		return
	}
	select {
	case p.queue <- cs:
	default:
	}
}

// sweepEvery is how often the outbox is checked for changes left behind;
// sweepAge is how old such a change must be (newer ones are on their way).
const (
	sweepEvery = 2 * time.Second
	sweepAge   = 2 * time.Second
	// changesKept is how long published changes stay in the outbox.
	changesKept = 7 * 24 * time.Hour
)

// run publishes until ctx ends, then publishes what is already queued
// within a short grace.
func (p *changePublisher) run(ctx context.Context, sweep bool) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case cs := <-p.queue:
			failing = p.publish(ctx, cs, failing)
		case <-t.C:
			if sweep {
				failing = p.sweep(ctx, failing)
			}
		case <-ctx.Done():
			grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			for {
				select {
				case cs := <-p.queue:
					p.publish(grace, cs, true)
				default:
					return nil
				}
			}
		}
	}
}

func (p *changePublisher) publish(ctx context.Context, cs []alerts.Committed, failing bool) bool {
	done, err := transport.PublishChanges(ctx, p.js, p.names, cs)
	p.m.published.Add(float64(len(done)))
	if len(done) > 0 {
		if merr := p.st.MarkPublished(context.WithoutCancel(ctx), done); merr != nil && err == nil {
			err = merr
		}
	}
	switch {
	case err != nil && !failing && ctx.Err() == nil:
		p.log.Warn("alert changes not published yet; the outbox keeps them and they go out later", "changes", len(cs)-len(done), "err", err)
		return true
	case err == nil && failing:
		p.log.Info("alert changes published again")
		return false
	}
	return failing && err != nil
}

func (p *changePublisher) sweep(ctx context.Context, failing bool) bool {
	now := time.Now()
	cs, err := p.st.Unpublished(ctx, now.Add(-sweepAge), 1000)
	if err != nil {
		return failing
	}
	if len(cs) > 0 {
		failing = p.publish(ctx, cs, failing)
	}
	if now.Minute() == 0 && now.Second() < int(sweepEvery/time.Second) {
		if _, err := p.st.PruneChanges(ctx, now.Add(-changesKept)); err != nil {
			p.log.Warn("could not prune published alert changes", "err", err)
		}
	}
	return failing
}
