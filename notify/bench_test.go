package notify_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
	"crmwatch/transport"
)

// BenchmarkWebhookBurst: a burst of 10,000 committed alert changes (each
// raising a new alert) published on the alert-changes stream in embedded
// JetStream, read by two servers' consumers sharing the receiver's durable
// consumer and one SQLite notification log, delivered to a signed webhook
// that verifies every request. Each iteration checks that every change
// arrived exactly once and reports the burst's time and the rate.
func BenchmarkWebhookBurst(b *testing.B) {
	const burst = 10000
	ns, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: b.TempDir(), SyncInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{ns.ClientURL()}, WaitFirst: true})
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := transport.Setup(ctx, js, names, transport.StreamLimits{MaxBytes: 256 << 20}); err != nil {
		b.Fatal(err)
	}
	h := newHook(b)
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	db := filepath.Join(b.TempDir(), "log.db")
	for _, holder := range []string{"a", "b"} {
		p := notify.NewPipeline(notify.PipelineOptions{Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL), Secret: secret.New(hookKey)}),
			Router: rt, Log: openStore(b, db), Holder: holder})
		c := notify.NewConsumer(notify.ConsumerOptions{JS: js, Names: names, Pipeline: p})
		cons, err := c.Ensure(ctx)
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = c.Run(ctx, cons) }()
	}
	var seq int64
	var total time.Duration
	for b.Loop() {
		cs := make([]alerts.Committed, 0, burst)
		for range burst {
			seq++
			cs = append(cs, committed(seq, alerts.ChangeRaised, "burst-"+itoa(int(seq)), 1, alerts.StateNew))
		}
		start := time.Now()
		for len(cs) > 0 {
			n := min(len(cs), 1000)
			if _, err := transport.PublishChanges(ctx, js, names, cs[:n]); err != nil {
				b.Fatal(err)
			}
			cs = cs[n:]
		}
		for {
			changes, sent := h.count()
			if changes == int(seq) && sent == int(seq) {
				break
			}
			if sent != changes || time.Since(start) > 5*time.Minute {
				b.Fatalf("%d changes in %d notifications after %s; want %d each", changes, sent, time.Since(start), seq)
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/burst")
	b.ReportMetric(burst/per, "changes/s")
}
