package transport

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/event"
)

// startNATS runs an embedded server on a free port with its store in a temp
// dir and returns a JetStream context with the streams and buckets set up.
func startNATS(tb testing.TB) (*Embedded, *nats.Conn, jetstream.JetStream, Names) {
	tb.Helper()
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: tb.TempDir(), SyncInterval: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Shutdown)
	return connectTo(tb, e)
}

// connectTo connects to e and sets up the default streams and buckets.
func connectTo(tb testing.TB, e *Embedded) (*Embedded, *nats.Conn, jetstream.JetStream, Names) {
	tb.Helper()
	nc, err := Connect(ConnectOptions{URLs: []string{e.ClientURL()}, Name: tb.Name(), WaitFirst: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	names, _ := NewNames("")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Setup(ctx, js, names, StreamLimits{}); err != nil {
		tb.Fatal(err)
	}
	return e, nc, js, names
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func traceEvents(host, fp string, from, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		off := int64(from+i) * 100
		evs[i] = event.Event{
			Time: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Add(time.Duration(from+i) * time.Millisecond),
			Host: host, Source: event.SourceTrace, Level: event.LevelError, Organization: "contoso",
			Category: "Platform.Sql", Message: "SQL timeout",
			Origin: event.Origin{Collector: "tracefiles", File: "w3wp-CRMWEB-20261121-1.log", Fingerprint: fp, Offset: off},
		}
	}
	return evs
}
