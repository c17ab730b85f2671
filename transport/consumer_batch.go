package transport

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/event"
)

func newConsumerMetrics() consumerMetrics {
	vec := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"stream"})
		for _, s := range []string{"events", "samples"} {
			v.WithLabelValues(s)
		}
		return v
	}
	return consumerMetrics{
		messages:     vec("crmwatch_ingest_messages_total", "Messages fetched from JetStream."),
		malformed:    vec("crmwatch_ingest_malformed_messages_total", "Messages that could not be decoded (terminated, never redelivered)."),
		redelivered:  vec("crmwatch_ingest_redelivered_messages_total", "Messages delivered more than once (handler failure, lost ack, server restart)."),
		observations: vec("crmwatch_ingest_observations_total", "Events and samples handed to the rules engine."),
		deduped:      vec("crmwatch_ingest_duplicate_observations_total", "Trace records dropped as already processed (agent re-sent after a crash)."),
		handleErrors: vec("crmwatch_ingest_handler_errors_total", "Batches the engine or store failed to process (redelivered later)."),
	}
}

func (m consumerMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.messages, m.malformed, m.redelivered, m.observations, m.deduped, m.handleErrors} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("consumer metrics: %w", err)
		}
	}
	return nil
}

// decode turns messages into batches; malformed ones are terminated (a bad
// payload never gets better by redelivery) and returned in bad.
func (c *Consumer) decode(stream string, msgs []jetstream.Msg) (good []jetstream.Msg, batches []event.Batch, bad []jetstream.Msg) {
	c.m.messages.WithLabelValues(stream).Add(float64(len(msgs)))
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			c.m.redelivered.WithLabelValues(stream).Inc()
		}
		b, err := decodeBatch(m.Headers().Get(HeaderCodec), m.Data())
		if err != nil {
			c.m.malformed.WithLabelValues(stream).Inc()
			c.log.Warn("malformed message terminated", "stream", stream, "subject", m.Subject(), "err", err)
			_ = m.Term()
			bad = append(bad, m)
			continue
		}
		good = append(good, m)
		batches = append(batches, b)
	}
	return good, batches, bad
}

func (c *Consumer) eventsBatch(hw *HighWater) batchFunc {
	return func(ctx context.Context, msgs []jetstream.Msg) (ack, retry []jetstream.Msg) {
		good, batches, _ := c.decode("events", msgs)
		var evs []event.Event
		for _, b := range batches {
			evs = append(evs, b.Events...)
		}
		kept, dropped := hw.Filter(evs)
		c.m.deduped.WithLabelValues("events").Add(float64(dropped))
		if len(kept) > 0 {
			if err := c.o.Handler.HandleEvents(ctx, kept); err != nil {
				c.m.handleErrors.WithLabelValues("events").Inc()
				c.log.Warn("handling events failed; batch will be redelivered", "events", len(kept), "err", err)
				return nil, good
			}
			hw.Commit(kept)
			c.m.observations.WithLabelValues("events").Add(float64(len(kept)))
		}
		return good, nil
	}
}

func (c *Consumer) samplesBatch(ctx context.Context, msgs []jetstream.Msg) (ack, retry []jetstream.Msg) {
	good, batches, _ := c.decode("samples", msgs)
	var ss []event.Sample
	for _, b := range batches {
		ss = append(ss, b.Samples...)
	}
	if len(ss) > 0 {
		if err := c.o.Handler.HandleSamples(ctx, ss); err != nil {
			c.m.handleErrors.WithLabelValues("samples").Inc()
			c.log.Warn("handling samples failed; batch will be redelivered", "samples", len(ss), "err", err)
			return nil, good
		}
		c.m.observations.WithLabelValues("samples").Add(float64(len(ss)))
	}
	return good, nil
}
