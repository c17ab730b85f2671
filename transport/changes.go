package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
)

// ChangesVersion is the schema version of a message on the alert-changes
// stream (header Crmwatch-Change-Version); consumers refuse newer ones.
const ChangesVersion = "1"

// HeaderChangeVersion carries ChangesVersion.
const HeaderChangeVersion = "Crmwatch-Change-Version"

// PublishChanges publishes committed alert changes in their order, waiting
// for JetStream's acknowledgement of each. The message id is the change's
// store number, so a change published twice (a retry, a server that
// crashed before marking it, two servers draining the outbox) is stored
// once within the duplicate window. It returns the numbers acknowledged,
// which may be a prefix of cs when it fails.
func PublishChanges(ctx context.Context, js jetstream.JetStream, n Names, cs []alerts.Committed) ([]int64, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(cs))
	for i := range cs {
		data, err := json.Marshal(&cs[i])
		if err != nil {
			return nil, fmt.Errorf("encode alert change %d: %w", cs[i].Seq, err)
		}
		m := nats.NewMsg(n.ChangesSubject())
		m.Data = data
		m.Header.Set(jetstream.MsgIDHeader, "alert-change-"+strconv.FormatInt(cs[i].Seq, 10))
		m.Header.Set(HeaderChangeVersion, ChangesVersion)
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return waitAcks(ctx, futures, cs)
		}
		futures = append(futures, f)
	}
	return waitAcks(ctx, futures, cs)
}

func waitAcks(ctx context.Context, fs []jetstream.PubAckFuture, cs []alerts.Committed) ([]int64, error) {
	done := make([]int64, 0, len(fs))
	for i, f := range fs {
		select {
		case <-f.Ok():
			done = append(done, cs[i].Seq)
		case err := <-f.Err():
			return done, fmt.Errorf("publish alert change %d: %w", cs[i].Seq, err)
		case <-ctx.Done():
			return done, ctx.Err()
		}
	}
	if len(done) < len(cs) {
		return done, fmt.Errorf("publish alert change %d: the async publish queue is full", cs[len(done)].Seq)
	}
	return done, nil
}

// DecodeChange reads one message of the alert-changes stream.
func DecodeChange(m jetstream.Msg) (alerts.Committed, error) {
	var c alerts.Committed
	if v := m.Headers().Get(HeaderChangeVersion); v != "" && v != ChangesVersion {
		return c, fmt.Errorf("alert change of schema version %s; this build reads %s (upgrade it)", v, ChangesVersion)
	}
	if err := json.Unmarshal(m.Data(), &c); err != nil {
		return c, fmt.Errorf("decode alert change: %w", err)
	}
	return c, nil
}

// WatchChanges calls fn for every alert change published to the stream
// from now on, in order, until ctx ends; each call site gets an ordered
// consumer of its own (no durable state, nothing to clean up). Consoles
// use it for live updates.
func WatchChanges(ctx context.Context, js jetstream.JetStream, n Names, fn func(alerts.Committed)) error {
	cons, err := js.OrderedConsumer(ctx, n.ChangesStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{n.ChangesSubject()}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("watch alert changes: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch alert changes: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch alert changes: %w", err)
		}
		c, err := DecodeChange(m)
		if err != nil {
			continue // a newer schema: the console reloads on the next one it reads
		}
		fn(c)
	}
}
