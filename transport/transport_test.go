package transport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/event"
)

func TestSubjectToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"crm-app1", "crm-app1"},
		{"crm-app1.contoso.local", "crm-app1_contoso_local"},
		{"a b>*", "a_b__"},
		{"", "_"},
		{"SQL_01", "SQL_01"},
	} {
		if got := SubjectToken(tc.in); got != tc.want {
			t.Errorf("SubjectToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	n, err := NewNames("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{n.EventsStream(), "CRMWATCH_EVENTS"},
		{n.SamplesStream(), "CRMWATCH_SAMPLES"},
		{n.EventsSubject("app1.local"), "crmwatch.events.app1_local"},
		{n.SamplesSubject("app1"), "crmwatch.samples.app1"},
		{n.AgentsBucket(), "crmwatch-agents"},
		{n.TraceSettingsBucket(), "crmwatch-trace-settings"},
		{n.PacksBucket(), "crmwatch-packs"},
		{n.Durable(n.EventsStream()), "CRMWATCH_EVENTS_SERVER"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	p, _ := NewNames("t-42")
	if p.EventsStream() != "T_42_EVENTS" || p.AgentsBucket() != "t-42-agents" {
		t.Errorf("prefixed names: %s %s", p.EventsStream(), p.AgentsBucket())
	}
	if _, err := NewNames("a.b"); err == nil {
		t.Error("prefix with a dot accepted")
	}
}

func TestSetupIsIdempotent(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
	if err := Setup(ctx, js, names, StreamLimits{}); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	s, err := js.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 10*time.Minute || cfg.MaxAge != 7*24*time.Hour {
		t.Errorf("events stream config: %+v", cfg)
	}
	for _, b := range []string{names.AgentsBucket(), names.TraceSettingsBucket(), names.PacksBucket()} {
		if _, err := js.KeyValue(ctx, b); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}
}

func TestPublishConsume(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	pub, err := NewPublisher(PublisherOptions{JS: js, Names: names, MaxMessageBytes: 1 << 10, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	evs := traceEvents("app1.contoso.local", "fp1", 0, 100)
	samples := []event.Sample{{Time: time.Now(), Host: "app1.contoso.local", Counter: `\Processor(_Total)\% Processor Time`, Value: 42}}
	if err := pub.Emit(ctx, event.Batch{Host: "app1.contoso.local", Events: evs, Samples: samples}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(pub.m.messages); got < 3 {
		t.Errorf("a 1 KiB limit should split 100 events into several messages, got %v", got)
	}
	rec := &recorder{fail: 1}
	c, err := NewConsumer(ctx, ConsumerOptions{JS: js, Names: names, Handler: rec, RetryDelay: 50 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	waitFor(t, 10*time.Second, "100 events and 1 sample", func() bool { e, s := rec.counts(); return e >= 100 && s == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e, _ := rec.counts()
	if e != 100 {
		t.Errorf("events handled = %d, want 100 (a failed batch must be redelivered once, not duplicated)", e)
	}
	for i, ev := range rec.events {
		if ev.Origin.Offset != int64(i)*100 || ev.Host != "app1.contoso.local" {
			t.Fatalf("event %d out of order or wrong host: %+v", i, ev.Origin)
		}
	}
	if got := testutil.ToFloat64(c.m.handleErrors.WithLabelValues("events")); got != 1 {
		t.Errorf("handler errors = %v, want 1", got)
	}
}

func TestDuplicatesAreDropped(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, err := NewPublisher(PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	// The same batch twice (a retry whose ack was lost): JetStream's
	// Nats-Msg-Id window stores it once.
	first := traceEvents("app1", "fp", 0, 10)
	for range 2 {
		if err := pub.Emit(ctx, event.Batch{Host: "app1", Events: first}); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(pub.m.duplicates); got != 1 {
		t.Errorf("PubAck duplicates = %v, want 1", got)
	}
	// An agent that crashed before saving its checkpoint re-reads from
	// record 5 with new batch boundaries: the high-water mark drops 5..9.
	if err := pub.Emit(ctx, event.Batch{Host: "app1", Events: traceEvents("app1", "fp", 5, 10)}); err != nil {
		t.Fatal(err)
	}
	// Another host with the same file fingerprint is a different file.
	if err := pub.Emit(ctx, event.Batch{Host: "app2", Events: traceEvents("app2", "fp", 0, 3)}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c, err := NewConsumer(ctx, ConsumerOptions{JS: js, Names: names, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Run(ctx) }()
	waitFor(t, 10*time.Second, "18 unique events", func() bool { e, _ := rec.counts(); return e >= 18 })
	waitFor(t, 10*time.Second, "dedup metric", func() bool { return testutil.ToFloat64(c.m.deduped.WithLabelValues("events")) == 5 })
	if e, _ := rec.counts(); e != 18 {
		t.Errorf("handled %d events, want 18 (10 + 5 new + 3 of app2)", e)
	}
}

func TestMalformedMessageIsTerminated(t *testing.T) {
	_, nc, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := js.Publish(ctx, names.EventsSubject("bad"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names})
	if err := pub.Emit(ctx, event.Batch{Host: "good", Events: traceEvents("good", "f", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c, err := NewConsumer(ctx, ConsumerOptions{JS: js, Names: names, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Run(ctx) }()
	waitFor(t, 10*time.Second, "the good event", func() bool { e, _ := rec.counts(); return e == 1 })
	waitFor(t, 10*time.Second, "malformed count", func() bool { return testutil.ToFloat64(c.m.malformed.WithLabelValues("events")) == 1 })
	_ = nc
}

func TestPublishWaitsForTheCentre(t *testing.T) {
	// An agent whose centre is down keeps retrying; Emit returns only when
	// the server is back and acknowledged (or when the agent stops).
	dir := t.TempDir()
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: dir, SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	url := e.ClientURL()
	names, _ := NewNames("")
	setupAt(t, url, names)
	e.Shutdown()

	nc, err := Connect(ConnectOptions{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names, AckTimeout: 300 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})

	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = pub.Emit(short, event.Batch{Host: "h", Events: traceEvents("h", "f", 0, 1)})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "keeps its checkpoint") {
		t.Fatalf("Emit with the centre down: err = %v, want a not-acknowledged error", err)
	}

	done := make(chan error, 1)
	go func() {
		done <- pub.Emit(context.Background(), event.Batch{Host: "h", Events: traceEvents("h", "f", 0, 1)})
	}()
	e2, err := StartEmbedded(EmbeddedOptions{Listen: strings.TrimPrefix(url, "nats://"), StoreDir: dir, SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Shutdown()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Emit did not complete after the centre came back")
	}
	if testutil.ToFloat64(pub.m.retries) == 0 {
		t.Error("no retries counted")
	}
}

func setupAt(t *testing.T, url string, names Names) {
	t.Helper()
	nc, err := Connect(ConnectOptions{URLs: []string{url}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := Setup(context.Background(), js, names, StreamLimits{}); err != nil {
		t.Fatal(err)
	}
}

func TestAgentsWatch(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := OpenAgents(ctx, js, names)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	if err := a.Put(ctx, Registration{Name: "app1.contoso.local", Roles: []string{"AppServer"}, LastHeartbeat: at}); err != nil {
		t.Fatal(err)
	}
	dir := NewDirectory()
	initial := make(chan struct{})
	go func() { _ = a.Watch(ctx, dir.Update, func() { close(initial) }) }()
	<-initial
	if l := dir.List(); len(l) != 1 || l[0].Name != "app1.contoso.local" {
		t.Fatalf("after initial values: %+v", l)
	}
	if err := a.Put(ctx, Registration{Name: "async1", Roles: []string{"AsyncService"}, LastHeartbeat: at}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "second agent", func() bool { return len(dir.List()) == 2 })
}

func TestTwoServersShareOneDurable(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names})
	const batches, per = 40, 25
	recs := []*recorder{{}, {}}
	for _, r := range recs {
		c, err := NewConsumer(ctx, ConsumerOptions{JS: js, Names: names, Handler: r, FetchMax: 4})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = c.Run(ctx) }()
	}
	for i := range batches {
		if err := pub.Emit(ctx, event.Batch{Host: "app1", Events: traceEvents("app1", "fp", i*per, per)}); err != nil {
			t.Fatal(err)
		}
	}
	total := func() int { a, _ := recs[0].counts(); b, _ := recs[1].counts(); return a + b }
	waitFor(t, 10*time.Second, "every event handled", func() bool { return total() >= batches*per })
	seen := map[int64]bool{}
	for _, r := range recs {
		r.mu.Lock()
		for _, ev := range r.events {
			if seen[ev.Origin.Offset] {
				t.Errorf("offset %d handled by both servers", ev.Origin.Offset)
			}
			seen[ev.Origin.Offset] = true
		}
		r.mu.Unlock()
	}
	if total() != batches*per {
		t.Errorf("handled %d events, want %d", total(), batches*per)
	}
}
