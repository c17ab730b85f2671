package transport

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/event"
)

// BenchmarkIngest measures the transport's path through an embedded NATS
// server (fsync on every write, as in production): Publisher.Emit of
// 100-event batches acknowledged by JetStream, then the Reader decoding them
// in order. It reports events/s for the JSON codec (the baseline) and the
// binary one in the same run. (The server's end-to-end ingest, with the
// rules engine and the store, is BenchmarkIngest in package server.)
func BenchmarkIngest(b *testing.B) {
	for _, codec := range []string{CodecJSON, CodecBinary} {
		b.Run("codec="+codec, func(b *testing.B) { benchIngestEvents(b, codec) })
	}
}

func benchIngestEvents(b *testing.B, codec string) {
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	_, _, js, names := connectTo(b, e)
	pub, err := NewPublisher(PublisherOptions{JS: js, Names: names, Codec: codec})
	if err != nil {
		b.Fatal(err)
	}
	const per = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	r := NewReader(ReaderOptions{JS: js, Stream: names.EventsStream()}, DecodeBatch)
	go func() { _ = r.Run(ctx) }()
	go func() {
		for it := range r.C() {
			n.Add(int64(len(it.Value.Events)))
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := pub.Emit(ctx, event.Batch{Host: "app1", Events: traceEvents("app1", "fp", i*per, per)}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N * per)
	for n.Load() < want {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkPublish measures the agent side only: acknowledged events/s.
func BenchmarkPublish(b *testing.B) {
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown()
	_, _, js, names := connectTo(b, e)
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names})
	const per = 100
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := pub.Emit(context.Background(), event.Batch{Host: "app1", Events: traceEvents("app1", "fp", i*per, per)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*per)/time.Since(start).Seconds(), "events/s")
}
