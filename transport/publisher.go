package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
)

// PublisherOptions configure a Publisher.
type PublisherOptions struct {
	JS    jetstream.JetStream
	Names Names
	// MaxMessageBytes caps one message's payload (default 512 KiB, well under
	// NATS' default 1 MiB max_payload); larger batches are split.
	MaxMessageBytes int
	// Codec is the payload encoding: CodecBinary (default) or CodecJSON
	// (for a centre older than the binary codec).
	Codec string
	// AckTimeout bounds one publish attempt (default 5s).
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts while the
	// centre is unreachable (defaults 200ms and 15s, doubling).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// Registerer receives the publisher's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// Publisher publishes batches and returns only when JetStream acknowledged
// them: it is the agent's collectors.Sink.
type Publisher struct {
	o   PublisherOptions
	log *slog.Logger
	m   publisherMetrics
}

type publisherMetrics struct {
	messages, observations, retries, duplicates, dropped prometheus.Counter
	duration                                             prometheus.Histogram
}

// NewPublisher returns a Publisher.
func NewPublisher(o PublisherOptions) (*Publisher, error) {
	if o.JS == nil {
		return nil, errors.New("publisher: JetStream context is required")
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 512 << 10
	}
	switch o.Codec {
	case "":
		o.Codec = CodecBinary
	case CodecBinary, CodecJSON:
	default:
		return nil, fmt.Errorf("publisher: unknown codec %q (want %s or %s)", o.Codec, CodecBinary, CodecJSON)
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(15*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{o: o, log: o.Logger}
	p.m = publisherMetrics{
		messages:     prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_transport_published_messages_total", Help: "Messages acknowledged by JetStream."}),
		observations: prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_transport_published_observations_total", Help: "Events and samples acknowledged by JetStream."}),
		retries:      prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_transport_publish_retries_total", Help: "Publish attempts that failed and were retried (centre unreachable or slow)."}),
		duplicates:   prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_transport_publish_duplicates_total", Help: "Publishes JetStream recognised as duplicates of an earlier attempt."}),
		dropped:      prometheus.NewCounter(prometheus.CounterOpts{Name: "crmwatch_transport_publish_dropped_total", Help: "Observations dropped because even alone they exceed the message size limit."}),
		duration:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crmwatch_transport_publish_duration_seconds", Help: "Time from Emit to the last acknowledgement, retries included.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{p.m.messages, p.m.observations, p.m.retries, p.m.duplicates, p.m.dropped, p.m.duration} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("publisher metrics: %w", err)
			}
		}
	}
	return p, nil
}

// Emit publishes b and blocks until every part of it is acknowledged, or
// ctx ends. While NATS is unreachable it retries with backoff; the caller's
// checkpoint stays where it was, so nothing is lost if the agent stops.
func (p *Publisher) Emit(ctx context.Context, b event.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	start := time.Now()
	if len(b.Events) > 0 {
		parts, err := p.split(event.Batch{Host: b.Host, Events: b.Events})
		if err != nil {
			return err
		}
		if err := p.publishAll(ctx, p.o.Names.EventsSubject(b.Host), b.Host, parts); err != nil {
			return err
		}
	}
	if len(b.Samples) > 0 {
		parts, err := p.split(event.Batch{Host: b.Host, Samples: b.Samples})
		if err != nil {
			return err
		}
		if err := p.publishAll(ctx, p.o.Names.SamplesSubject(b.Host), b.Host, parts); err != nil {
			return err
		}
	}
	p.m.duration.Observe(time.Since(start).Seconds())
	return nil
}

type part struct {
	payload []byte
	n       int
}

// split encodes b into payloads no larger than MaxMessageBytes, halving
// batches that are too big.
func (p *Publisher) split(b event.Batch) ([]part, error) {
	data, err := encodeBatch(p.o.Codec, b)
	if err != nil {
		return nil, err
	}
	if len(data) <= p.o.MaxMessageBytes {
		return []part{{payload: data, n: b.Len()}}, nil
	}
	if b.Len() == 1 {
		return p.shrinkOne(b)
	}
	var lo, hi event.Batch
	if len(b.Events) > 0 {
		h := len(b.Events) / 2
		lo, hi = event.Batch{Host: b.Host, Events: b.Events[:h]}, event.Batch{Host: b.Host, Events: b.Events[h:]}
	} else {
		h := len(b.Samples) / 2
		lo, hi = event.Batch{Host: b.Host, Samples: b.Samples[:h]}, event.Batch{Host: b.Host, Samples: b.Samples[h:]}
	}
	a, err := p.split(lo)
	if err != nil {
		return nil, err
	}
	c, err := p.split(hi)
	if err != nil {
		return nil, err
	}
	return append(a, c...), nil
}

// shrinkOne truncates the message of a single oversized event (a huge stack
// trace) rather than blocking the collector forever; anything still too big
// is dropped and counted.
func (p *Publisher) shrinkOne(b event.Batch) ([]part, error) {
	if len(b.Events) == 1 && len(b.Events[0].Message) > p.o.MaxMessageBytes/2 {
		ev := b.Events[0]
		fields := make(map[string]string, len(ev.Fields)+1)
		for k, v := range ev.Fields {
			fields[k] = v
		}
		fields["crmwatch_truncated"] = fmt.Sprintf("message cut from %d bytes", len(ev.Message))
		ev.Message = ev.Message[:p.o.MaxMessageBytes/2]
		ev.Fields = fields
		data, err := encodeBatch(p.o.Codec, event.Batch{Host: b.Host, Events: []event.Event{ev}})
		if err != nil {
			return nil, err
		}
		if len(data) <= p.o.MaxMessageBytes {
			return []part{{payload: data, n: 1}}, nil
		}
	}
	p.m.dropped.Inc()
	p.log.Warn("observation dropped: larger than the message size limit even alone", "host", b.Host, "limit_bytes", p.o.MaxMessageBytes)
	return nil, nil
}

func (p *Publisher) publishAll(ctx context.Context, subject, host string, parts []part) error {
	for _, pt := range parts {
		if err := p.publish(ctx, subject, host, pt); err != nil {
			return err
		}
	}
	return nil
}

// publish sends one payload until acknowledged. Every attempt carries the
// same Nats-Msg-Id, so an attempt whose ack was lost is not stored twice.
func (p *Publisher) publish(ctx context.Context, subject, host string, pt part) error {
	msg := &nats.Msg{Subject: subject, Data: pt.payload, Header: nats.Header{}}
	msg.Header.Set(HeaderCodec, p.o.Codec)
	msg.Header.Set(HeaderHost, host)
	id := msgID(subject, pt.payload)
	backoff := p.o.MinBackoff
	var failingSince time.Time
	for {
		actx, cancel := context.WithTimeout(ctx, p.o.AckTimeout)
		ack, err := p.o.JS.PublishMsg(actx, msg, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			if ack.Duplicate {
				p.m.duplicates.Inc()
			}
			if !failingSince.IsZero() {
				p.log.Info("publishing again after an outage", "subject", subject, "outage", time.Since(failingSince).Round(time.Millisecond))
			}
			p.m.messages.Inc()
			p.m.observations.Add(float64(pt.n))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish to %s: %w (not acknowledged; the collector keeps its checkpoint and re-sends)", subject, ctx.Err())
		}
		if errors.Is(err, nats.ErrMaxPayload) {
			return fmt.Errorf("publish to %s: %w (lower MaxMessageBytes below the server's max_payload)", subject, err)
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
			p.log.Warn("publish failed; retrying with backoff until the centre answers", "subject", subject, "err", Explain(p.o.JS.Conn(), err))
		}
		p.m.retries.Inc()
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("publish to %s: %w (not acknowledged; the collector keeps its checkpoint and re-sends)", subject, ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, p.o.MaxBackoff)
	}
}
