package transport

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/alerts"
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

// readAll reads stream from after until want items arrived.
func readAll(t *testing.T, js jetstream.JetStream, stream string, after uint64, want int) (*Reader[event.Batch], []Item[event.Batch]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewReader(ReaderOptions{JS: js, Stream: stream, After: after}, DecodeBatch)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var got []Item[event.Batch]
	timeout := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case it, ok := <-r.C():
			if !ok {
				t.Fatalf("reader stopped after %d items: %v", len(got), <-done)
			}
			got = append(got, it)
		case <-timeout:
			t.Fatalf("read %d of %d items", len(got), want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return r, got
}

func TestPublishAndReadInOrder(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
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
	msgs := int(testutil.ToFloat64(pub.m.messages))
	if msgs < 3 {
		t.Errorf("a 1 KiB limit should split 100 events into several messages, got %d", msgs)
	}
	_, items := readAll(t, js, names.EventsStream(), 0, msgs-1) // one message carried the sample
	var got []event.Event
	var last uint64
	for _, it := range items {
		if it.Err != nil || it.Seq <= last {
			t.Fatalf("item %+v after seq %d", it, last)
		}
		last = it.Seq
		got = append(got, it.Value.Events...)
	}
	for i, ev := range got {
		if ev.Origin.Offset != int64(i)*100 || ev.Host != "app1.contoso.local" {
			t.Fatalf("event %d out of order or wrong host: %+v", i, ev.Origin)
		}
	}
	// Resuming after a position reads exactly what follows it.
	_, rest := readAll(t, js, names.EventsStream(), items[1].Seq, len(items)-2)
	if rest[0].Seq != items[2].Seq {
		t.Fatalf("resumed at %d, want %d", rest[0].Seq, items[2].Seq)
	}
	_, ss := readAll(t, js, names.SamplesStream(), 0, 1)
	if len(ss[0].Value.Samples) != 1 {
		t.Fatalf("samples: %+v", ss[0].Value)
	}
}

func TestReaderMalformedAndRecreatedStream(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
	if _, err := js.Publish(ctx, names.EventsSubject("bad"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names})
	if err := pub.Emit(ctx, event.Batch{Host: "good", Events: traceEvents("good", "f", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	_, items := readAll(t, js, names.EventsStream(), 0, 2)
	if items[0].Err == nil || items[1].Err != nil || len(items[1].Value.Events) != 1 {
		t.Fatalf("malformed then good: %+v", items)
	}
	// A position past the stream's end (the stream was recreated, a
	// NATS store wiped) reads from the start instead of waiting forever.
	r, again := readAll(t, js, names.EventsStream(), 1000, 2)
	if !r.Restarted || again[0].Seq != 1 {
		t.Fatalf("restarted %v, first %d", r.Restarted, again[0].Seq)
	}
}

func TestReaderCountsMessagesLostToLimits(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
	pub, _ := NewPublisher(PublisherOptions{JS: js, Names: names})
	for i := range 5 {
		if err := pub.Emit(ctx, event.Batch{Host: "h", Events: traceEvents("h", "f", i, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := js.Stream(ctx, names.EventsStream())
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(4)); err != nil { // seqs 1-3 leave
		t.Fatal(err)
	}
	r, items := readAll(t, js, names.EventsStream(), 1, 2)
	if r.Skipped != 2 || items[0].Seq != 4 {
		t.Fatalf("skipped %d, first %d", r.Skipped, items[0].Seq)
	}
}

func TestLeaseElectsOneAndHandsOver(t *testing.T) {
	_, _, js, _ := startNATS(t)
	names, _ := NewNames("lease" + strings.ReplaceAll(t.Name(), "/", "_"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := Setup(ctx, js, names, StreamLimits{LeaseTTL: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	a, _ := OpenLease(ctx, js, names, "server-a", 2*time.Second, nil)
	b, _ := OpenLease(ctx, js, names, "server-b", 2*time.Second, nil)
	epochA, err := a.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holdCtx, stopA := context.WithCancel(ctx)
	held := make(chan error, 1)
	go func() { held <- a.Hold(holdCtx) }()
	got := make(chan uint64, 1)
	go func() { e, _ := b.Acquire(ctx); got <- e }()
	select {
	case <-got:
		t.Fatal("b acquired the lease while a renewed it")
	case <-time.After(3 * time.Second):
	}
	if h, _ := a.Holder(ctx); h.Holder != "server-a" {
		t.Fatalf("holder %q", h.Holder)
	}
	// a stops renewing (a crash): the TTL frees the lease for b.
	stopA()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	var epochB uint64
	select {
	case epochB = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("b never took over")
	}
	if epochB <= epochA {
		t.Fatalf("epochs %d then %d: a take-over must get a newer epoch", epochA, epochB)
	}
	// a, still thinking it holds the lease, learns it lost it.
	if err := a.Hold(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale holder: %v, want ErrLeaseLost", err)
	}
	// A clean release hands over at once.
	b.Release(ctx)
	c, _ := OpenLease(ctx, js, names, "server-c", 2*time.Second, nil)
	start := time.Now()
	if _, err := c.Acquire(ctx); err != nil || time.Since(start) > time.Second {
		t.Fatalf("acquire after release took %s: %v", time.Since(start), err)
	}
}

func TestPublishChangesOnce(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
	cs := []alerts.Committed{{Seq: 1, Kind: alerts.ChangeRaised, Alert: alerts.Alert{ID: "a1"}}, {Seq: 2, Kind: alerts.ChangeRepeated, Alert: alerts.Alert{ID: "a1"}}}
	for range 2 { // the second time is a retry: stored once
		done, err := PublishChanges(ctx, js, names, cs)
		if err != nil || len(done) != 2 {
			t.Fatalf("publish: %v %v", done, err)
		}
	}
	st, _ := js.Stream(ctx, names.ChangesStream())
	info, _ := st.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d changes, want 2", info.State.Msgs)
	}
	r := NewReader(ReaderOptions{JS: js, Stream: names.ChangesStream()}, DecodeChange)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = r.Run(rctx) }()
	first := <-r.C()
	if first.Err != nil || first.Value.Seq != 1 || first.Value.Kind != alerts.ChangeRaised {
		t.Fatalf("first change: %+v", first)
	}
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

// TestDuplicatesAreDropped: the same batch published twice (a retry whose
// PubAck was lost) is stored once, by its Nats-Msg-Id.
func TestDuplicatesAreDropped(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx := context.Background()
	pub, err := NewPublisher(PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	b := event.Batch{Host: "app1", Events: traceEvents("app1", "fp", 0, 10)}
	for range 2 {
		if err := pub.Emit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(pub.m.duplicates); got != 1 {
		t.Errorf("PubAck duplicates = %v, want 1", got)
	}
	st, _ := js.Stream(ctx, names.EventsStream())
	if info, _ := st.Info(ctx); info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
}
