package agent

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/transport"
)

// onceFactory's collector emits one event, then idles until stopped.
type onceFactory struct{}

func (onceFactory) Type() string { return "once" }
func (onceFactory) DefaultConfig() collectors.Config {
	return &dirsConfig{Dirs: []string{"-"}, Interval: "1s"}
}
func (onceFactory) New(_ collectors.Config, set collectors.Settings) (collectors.Collector, error) {
	return onceCollector{host: set.Host}, nil
}

type onceCollector struct{ host string }

func (c onceCollector) Run(ctx context.Context, sink collectors.Sink) error {
	b := event.Batch{Host: c.host, Events: []event.Event{{Host: c.host, Source: "trace", Level: event.LevelError, Message: "x"}}}
	if err := sink.Emit(ctx, b); err != nil && ctx.Err() == nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func TestRunRegistersPublishesAndStops(t *testing.T) {
	natsURL, js, names := startJetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := t.TempDir() + "/agent.yaml"
	writeFile(t, cfg, "collectors:\n  once: {}\n")
	a, err := New(Options{NATS: secret.MustURL(natsURL), Name: "app1.contoso.local", Roles: []string{"AppServer"},
		ConfigFile: cfg, StateDir: t.TempDir(), MetricsListen: "127.0.0.1:0", HeartbeatEvery: time.Hour,
		Factories: []collectors.Factory{onceFactory{}}, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	kv, _ := js.KeyValue(ctx, names.AgentsBucket())
	stream, _ := js.Stream(ctx, names.EventsStream())
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := stream.Info(ctx)
		_, kerr := kv.Get(ctx, "app1_contoso_local")
		if info != nil && info.State.Msgs == 1 && kerr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registration or event within 10s (kv err %v)", kerr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop within 10s of cancellation")
	}
	entry, err := kv.Get(context.Background(), "app1_contoso_local")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(entry.Value()); !contains(got, `"stopped":true`) || !contains(got, `"version":"1.2.3"`) || !contains(got, `"AppServer"`) {
		t.Errorf("final registration = %s", got)
	}
}

// startJetStream runs an embedded NATS with the crmwatch streams and
// buckets for the test and returns its URL, a JetStream handle and the names.
func startJetStream(t *testing.T) (string, jetstream.JetStream, transport.Names) {
	t.Helper()
	e, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{e.ClientURL()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	if err := transport.Setup(context.Background(), js, names, transport.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	return e.ClientURL(), js, names
}
