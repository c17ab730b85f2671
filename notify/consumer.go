package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
	"crmwatch/transport"
)

// ConsumerOptions configure a receiver's reader of the changes stream.
type ConsumerOptions struct {
	JS       jetstream.JetStream
	Names    transport.Names
	Pipeline *Pipeline
	// Batch is how many changes one pass takes at most (default 256).
	Batch  int
	Logger *slog.Logger
}

// Consumer feeds one receiver's pipeline from the alert-changes stream
// through a durable consumer every server shares: JetStream hands each
// change to one of them, and one that stops without acknowledging gets it
// redelivered to another. A change is acknowledged only after the
// pipeline recorded its outcome in the notification log, which is what
// keeps a redelivered change from being sent twice.
type Consumer struct {
	o   ConsumerOptions
	log *slog.Logger
}

// ackWait is how long JetStream waits for an acknowledgement before
// redelivering; a pipeline waiting to retry marks its changes in progress.
const ackWait = 30 * time.Second

// NewConsumer prepares a consumer.
func NewConsumer(o ConsumerOptions) *Consumer {
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{o: o, log: o.Logger.With("receiver", o.Pipeline.o.Receiver.Name())}
}

// Ensure creates the durable consumer if it does not exist. A new one
// starts with the changes published from now on (a receiver added to the
// configuration is not sent the past); the server calls it before its
// change publisher starts, so nothing published after the start is missed.
func (c *Consumer) Ensure(ctx context.Context) (jetstream.Consumer, error) {
	name := c.o.Names.NotifyConsumer(c.o.Pipeline.o.Receiver.Name())
	stream := c.o.Names.ChangesStream()
	cons, err := c.o.JS.Consumer(ctx, stream, name)
	if err == nil {
		return cons, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("notify: consumer %s: %w", name, err)
	}
	cons, err = c.o.JS.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "crmwatch notifications to receiver " + c.o.Pipeline.o.Receiver.Name(),
		FilterSubject: c.o.Names.ChangesSubject(),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 10000,
		// A receiver removed from every server's configuration leaves its
		// consumer behind; JetStream drops it after a week unused.
		InactiveThreshold: 7 * 24 * time.Hour,
	})
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return c.o.JS.Consumer(ctx, stream, name)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: create consumer %s: %w", name, err)
	}
	return cons, nil
}

// Run processes changes until ctx ends. It waits for one change, takes
// those already there, processes them and acknowledges them; messages only
// ever wait in a pull this consumer is still reading, so a stop leaves
// nothing for JetStream to redeliver after its ack wait (changes that
// arrive during the stop are handed back at once).
func (c *Consumer) Run(ctx context.Context, cons jetstream.Consumer) error {
	failing := false
	for ctx.Err() == nil {
		batch, err := c.next(cons)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Debug("reading alert changes; retrying", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if ctx.Err() != nil {
			for _, m := range batch {
				_ = m.Nak()
			}
			break
		}
		if len(batch) > 0 {
			failing = c.handle(ctx, batch, failing)
		}
	}
	return nil
}

// busyDelay is when changes another claim is sending come back.
const busyDelay = 10 * time.Second

// pollWait is how long one wait for a change lasts (and so the longest a
// stop waits for the reader).
const pollWait = time.Second

// next waits up to pollWait for one change, then takes those already
// there, up to the batch size.
func (c *Consumer) next(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	first, err := cons.Fetch(1, jetstream.FetchMaxWait(pollWait))
	if err != nil {
		return nil, err
	}
	var batch []jetstream.Msg
	for m := range first.Messages() {
		batch = append(batch, m)
	}
	if len(batch) == 0 {
		return nil, first.Error()
	}
	if c.o.Batch > 1 {
		more, err := cons.FetchNoWait(c.o.Batch - 1)
		if err == nil {
			for m := range more.Messages() {
				batch = append(batch, m)
			}
		}
	}
	return batch, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *Consumer) handle(ctx context.Context, batch []jetstream.Msg, failing bool) bool {
	cs := make([]alerts.Committed, 0, len(batch))
	for _, m := range batch {
		ch, err := transport.DecodeChange(m)
		if err != nil {
			c.log.Error("alert change not readable; skipped", "err", err)
			continue
		}
		cs = append(cs, ch)
	}
	inProgress := func() {
		for _, m := range batch {
			_ = m.InProgress()
		}
	}
	if err := c.o.Pipeline.Process(ctx, cs, inProgress); errors.Is(err, ErrBusy) {
		for _, m := range batch {
			_ = m.NakWithDelay(busyDelay)
		}
		return failing
	} else if err != nil {
		if ctx.Err() == nil && !failing {
			c.log.Warn("notification log unavailable; the changes are redelivered and sent later", "err", err)
		}
		for _, m := range batch {
			_ = m.NakWithDelay(2 * time.Second)
		}
		return true
	}
	for _, m := range batch {
		_ = m.Ack()
	}
	if failing {
		c.log.Info("notification log available again")
	}
	return false
}
