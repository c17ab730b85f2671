package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
)

// Handler processes what the Consumer fetched. It returns nil only once the
// result is durable (rules evaluated, alert changes stored); only then are
// the messages acknowledged.
type Handler interface {
	HandleEvents(ctx context.Context, evs []event.Event) error
	HandleSamples(ctx context.Context, ss []event.Sample) error
}

// ConsumerOptions configure a Consumer.
type ConsumerOptions struct {
	JS      jetstream.JetStream
	Names   Names
	Handler Handler
	// FetchMax is the most messages handled as one batch (default 256).
	FetchMax int
	// FetchWait is the longest a fetch waits for messages (default 250ms);
	// it bounds both the added latency and how long Run takes to stop.
	FetchWait time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering
	// to any server (default 60s).
	AckWait time.Duration
	// RetryDelay is the wait before a batch whose handler failed is
	// redelivered (default 2s).
	RetryDelay time.Duration
	// DedupFiles bounds the high-water-mark filter (default 65536 files).
	DedupFiles int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Consumer feeds the events and samples streams to a Handler through one
// durable pull consumer per stream. Every server instance binds the same
// durable, so JetStream hands each batch to exactly one of them at a time.
type Consumer struct {
	o       ConsumerOptions
	log     *slog.Logger
	events  jetstream.Consumer
	samples jetstream.Consumer
	m       consumerMetrics
}

type consumerMetrics struct {
	messages, malformed, redelivered *prometheus.CounterVec
	observations, deduped            *prometheus.CounterVec
	handleErrors                     *prometheus.CounterVec
}

// NewConsumer creates (or binds) the durable consumers. The streams must
// exist (Setup).
func NewConsumer(ctx context.Context, o ConsumerOptions) (*Consumer, error) {
	if o.JS == nil || o.Handler == nil {
		return nil, errors.New("consumer: JetStream context and Handler are required")
	}
	if o.FetchMax <= 0 {
		o.FetchMax = 256
	}
	if o.FetchWait <= 0 {
		o.FetchWait = 250 * time.Millisecond
	}
	if o.AckWait <= 0 {
		o.AckWait = 60 * time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{o: o, log: o.Logger, m: newConsumerMetrics()}
	if o.Registerer != nil {
		if err := c.m.register(o.Registerer); err != nil {
			return nil, err
		}
	}
	var err error
	if c.events, err = c.durable(ctx, o.Names.EventsStream(), o.Names.EventsFilter()); err != nil {
		return nil, err
	}
	if c.samples, err = c.durable(ctx, o.Names.SamplesStream(), o.Names.SamplesFilter()); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Consumer) durable(ctx context.Context, stream, filter string) (jetstream.Consumer, error) {
	name := c.o.Names.Durable(stream)
	cons, err := c.o.JS.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "crmwatch servers (shared by every instance)",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.o.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: filter,
		MaxAckPending: 20 * c.o.FetchMax,
	})
	if err != nil {
		return nil, fmt.Errorf("create durable consumer %s on stream %s: %w", name, stream, err)
	}
	return cons, nil
}

// Run consumes both streams until ctx ends. It returns nil on cancellation.
func (c *Consumer) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	evHW := NewHighWater(c.o.DedupFiles)
	go func() { errc <- c.loop(ctx, "events", c.events, c.eventsBatch(evHW)) }()
	go func() { errc <- c.loop(ctx, "samples", c.samples, c.samplesBatch) }()
	return errors.Join(<-errc, <-errc)
}

// batchFunc decodes and handles fetched payloads; it returns the messages to
// ack (handled or permanently malformed) and the ones to retry.
type batchFunc func(ctx context.Context, msgs []jetstream.Msg) (ack, retry []jetstream.Msg)

func (c *Consumer) loop(ctx context.Context, stream string, cons jetstream.Consumer, handle batchFunc) error {
	var failingSince time.Time
	for ctx.Err() == nil {
		batch, err := cons.Fetch(c.o.FetchMax, jetstream.FetchMaxWait(c.o.FetchWait))
		if err != nil {
			if failingSince.IsZero() {
				failingSince = time.Now()
				c.log.Warn("fetch failed; retrying", "stream", stream, "err", err)
			}
			if !sleepCtx(ctx, c.o.FetchWait) {
				break
			}
			continue
		}
		msgs := make([]jetstream.Msg, 0, c.o.FetchMax)
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		failingSince = time.Time{}
		ack, retry := handle(ctx, msgs)
		for _, m := range ack {
			if err := m.Ack(); err != nil {
				c.log.Debug("ack failed; the message will be redelivered and deduplicated", "stream", stream, "err", err)
			}
		}
		for _, m := range retry {
			_ = m.NakWithDelay(c.o.RetryDelay)
		}
		if len(retry) > 0 {
			sleepCtx(ctx, c.o.RetryDelay)
		}
	}
	return nil
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
