package rollup_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/capacity/rollup"
	"crmwatch/event"
	"crmwatch/store/sqlstore"
	"crmwatch/transport"
)

type stack struct {
	js    jetstream.JetStream
	names transport.Names
	st    *sqlstore.Store
	pub   *transport.Publisher
}

func newStack(t *testing.T) stack {
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
	if err := transport.Setup(context.Background(), js, names, transport.StreamLimits{LeaseTTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, err := transport.NewPublisher(transport.PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	return stack{js: js, names: names, st: st, pub: pub}
}

// run starts a consumer (its own lease holder) and returns its stop.
func (s stack) run(t *testing.T, holder string) func() {
	t.Helper()
	lease, err := transport.OpenNamedLease(context.Background(), s.js, s.names, rollup.LeaseKey, holder, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rollup.NewConsumer(rollup.ConsumerOptions{JS: s.js, Names: s.names, Store: s.st, Lease: lease, FlushEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	}
}

// publish sends n seconds of one counter of host from second `from`, and
// one traced request per second for organization org.
func (s stack) publish(t *testing.T, host string, at time.Time, from, n int) {
	t.Helper()
	b := event.Batch{Host: host}
	for i := from; i < from+n; i++ {
		ts := at.Add(time.Duration(i) * time.Second)
		b.Samples = append(b.Samples, event.Sample{Time: ts, Host: host, Role: "AppServer", Counter: `\Processor(_Total)\% Processor Time`, Value: float64(i % 100)})
		b.Events = append(b.Events, event.Event{Time: ts, Host: host, Source: event.SourceTrace, Organization: "Contoso",
			RequestID: fmt.Sprintf("req-%d", i), Fields: map[string]string{"user": fmt.Sprintf("u%d", i%7)}})
	}
	if err := s.pub.Emit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func (s stack) counts(t *testing.T, at time.Time) (samples, requests uint64) {
	t.Helper()
	ctx := context.Background()
	if err := s.st.ScanSeries(ctx, rollup.Day, at.Add(-48*time.Hour), at.Add(48*time.Hour), func(r *rollup.SeriesRow) error {
		samples += r.Count
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.ScanOrgs(ctx, at.Add(-48*time.Hour), at.Add(48*time.Hour), func(r *rollup.OrgRow) error {
		requests += r.Requests
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return samples, requests
}

func waitCounts(t *testing.T, s stack, at time.Time, samples, requests uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		gs, gr := s.counts(t, at)
		if gs == samples && gr == requests {
			return
		}
		if gs > samples || gr > requests || time.Now().After(deadline) {
			t.Fatalf("store holds %d samples and %d requests, want %d and %d", gs, gr, samples, requests)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every sample and request counts once: across a stop and restart of the
// consumer, and while two consumers (two servers) compete for the lease.
func TestConsumerCountsEachSampleOnce(t *testing.T) {
	s := newStack(t)
	at := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Minute) // recent: the consumer prunes by retention
	stop := s.run(t, "server-a")
	s.publish(t, "CRMWEB01", at, 0, 300)
	waitCounts(t, s, at, 300, 300)
	stop()

	s.publish(t, "CRMWEB01", at, 300, 200) // while no consumer runs
	stopA, stopB := s.run(t, "server-a"), s.run(t, "server-b")
	s.publish(t, "CRMWEB02", at, 0, 100)
	waitCounts(t, s, at, 600, 600) // CRMWEB02's requests are on another host: they count apart
	stopA()
	s.publish(t, "CRMWEB02", at, 100, 100)
	waitCounts(t, s, at, 700, 700)
	stopB()

	var minutes int
	_ = s.st.ScanSeries(context.Background(), rollup.Minute, at, at.Add(time.Hour), func(r *rollup.SeriesRow) error {
		if r.Host == "CRMWEB01" {
			minutes++
		}
		return nil
	})
	if minutes != 9 { // 500 seconds from hh:58:00: hh:58 … hh+1:06
		t.Fatalf("CRMWEB01 has %d minute buckets, want 9", minutes)
	}
}

// A 1-minute retention shorter than the dashboards' day is refused.
func TestConsumerRefusesShortMinuteRetention(t *testing.T) {
	s := newStack(t)
	lease, err := transport.OpenNamedLease(context.Background(), s.js, s.names, rollup.LeaseKey, "x", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rollup.NewConsumer(rollup.ConsumerOptions{JS: s.js, Names: s.names, Store: s.st, Lease: lease, Retention: rollup.Retention{rollup.Minute: time.Hour}})
	if err == nil || !strings.Contains(err.Error(), "1-minute retention 1h0m0s is under the 24h0m0s") {
		t.Fatalf("short minute retention: %v", err)
	}
}
