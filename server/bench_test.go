package server

import (
	"context"
	"testing"
	"time"

	"crmwatch/event"
)

// BenchmarkIngest measures the server's whole ingest path: 100-event
// batches published (and acknowledged) to the embedded JetStream, read in
// order by the evaluator, deduplicated, evaluated by the built-in pack and
// committed to SQLite with their stream positions. It reports events/s
// from the first publish until the committed position reached the last.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	srv, stop, err := Start(ctx, Options{DataDir: b.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	pub := publisherTo(b, srv.NATSURL().Reveal())
	const per = 100
	batch := func(i int) event.Batch {
		bt := event.Batch{Host: "CRMAPP01"}
		for j := range per {
			n := i*per + j
			bt.Events = append(bt.Events, event.Event{Time: time.Now(), Host: "CRMAPP01", Role: "AppServer", Source: event.SourceTrace,
				Level: event.LevelError, Organization: benchOrgs[n%len(benchOrgs)], Category: "Platform.Sql", Message: "SqlException: Timeout expired",
				Origin: event.Origin{Collector: "tracefiles", File: "w3wp.log", Fingerprint: "fp-bench", Offset: int64(n) * 300}})
		}
		return bt
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := pub.Emit(ctx, batch(i)); err != nil {
			b.Fatal(err)
		}
	}
	want := uint64(b.N) // at least one message per batch
	names := srv.names.EventsStream()
	for {
		p, err := srv.Store().Progress(ctx)
		if err == nil && p.Positions[names] >= want {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N*per)/time.Since(start).Seconds(), "events/s")
}

var benchOrgs = []string{"contoso", "fabrikam", "litware", "northwind", "adventureworks"}
