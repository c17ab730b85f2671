package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/agent"
	"crmwatch/alerts"
	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/server"
	"crmwatch/store"
	"crmwatch/transport"
)

// BenchmarkFaultToAlert measures what the NOC waits for: an error record
// appended to a tailed CRM trace file → the alert committed in the store
// and published on the alert-changes stream, through the real agent
// (tailer, collector, publisher), embedded JetStream, the evaluator and
// SQLite. Each iteration appends one record for a new organization, so it
// raises a new alert. It reports p50 and p99 of both, in milliseconds.
func BenchmarkFaultToAlert(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, stop, err := server.Start(ctx, server.Options{DataDir: b.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dir := b.TempDir()
	file := filepath.Join(dir, "w3wp-CRMAPP01-20261129-1.log")
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	a, err := agent.New(agent.Options{NATS: srv.NATSURL(), Name: "CRMAPP01", Roles: []string{"AppServer"},
		Set: agent.TraceDirOverrides(dir), StateDir: b.TempDir(), Factories: []collectors.Factory{tracefiles.NewFactory()}})
	if err != nil {
		b.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()
	defer func() { cancel(); <-agentDone }()

	changes := changesReader(ctx, b, srv.NATSURL().Reveal())
	committed := map[string]time.Time{} // organization → when its raise reached the stream
	// Warm up until the agent follows the file (a fresh agent starts at the
	// end of what is already there) and every part is running.
	for i := 0; ; i++ {
		org := fmt.Sprintf("warm-up-%d", i)
		writeRecord(b, f, org)
		if warmed(changes, committed, org, time.Second) {
			break
		}
		if i == 30 {
			b.Fatal("no alert within 30s of warm-up records")
		}
	}

	var toStore, toStream []time.Duration
	for i := 0; b.Loop(); i++ {
		org := fmt.Sprintf("org-%08d", i)
		start := time.Now()
		storeAt := make(chan time.Time, 1)
		go func() { storeAt <- pollStore(srv, org, start) }()
		writeRecord(b, f, org)
		at := waitRaise(b, nil, changes, committed, org)
		toStream = append(toStream, at.Sub(start))
		toStore = append(toStore, (<-storeAt).Sub(start))
	}
	b.StopTimer()
	report(b, "store", toStore)
	report(b, "stream", toStream)
}

func writeRecord(b *testing.B, f *os.File, org string) {
	b.Helper()
	rec := fmt.Sprintf("[%s] Process: w3wp |Organization:%s |Thread: 12 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Error |ReqId: r-%s | CrmDbConnection.InternalExecuteReader\n>Exception when executing query: Timeout expired.\n",
		time.Now().UTC().Format("2006-01-02 15:04:05.000"), org, org)
	if _, err := f.WriteString(rec); err != nil {
		b.Fatal(err)
	}
}

func changesReader(ctx context.Context, b *testing.B, url string) <-chan transport.Item[alerts.Committed] {
	b.Helper()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{url}, WaitFirst: true})
	if err != nil {
		b.Fatal(err)
	}
	context.AfterFunc(ctx, nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	r := transport.NewReader(transport.ReaderOptions{JS: js, Stream: names.ChangesStream()}, transport.DecodeChange)
	go func() { _ = r.Run(ctx) }()
	return r.C()
}

// waitRaise waits until the raise of the sql-error alert of org is on the
// stream (writing the record first when f is given) and returns when it
// arrived.
func waitRaise(b *testing.B, f *os.File, c <-chan transport.Item[alerts.Committed], seen map[string]time.Time, org string) time.Time {
	b.Helper()
	if f != nil {
		writeRecord(b, f, org)
	}
	timeout := time.After(60 * time.Second)
	for {
		if at, ok := seen[org]; ok {
			return at
		}
		select {
		case it := <-c:
			now := time.Now()
			if it.Err == nil && it.Value.Kind == alerts.ChangeRaised && it.Value.Alert.Rule == "crm.trace.sql-error" {
				for _, o := range it.Value.Alert.Organizations {
					seen[o] = now
				}
			}
		case <-timeout:
			b.Fatalf("no crm.trace.sql-error alert for %s on the changes stream within 60s", org)
		}
	}
}

// warmed reports whether the raise for org arrived within d.
func warmed(c <-chan transport.Item[alerts.Committed], seen map[string]time.Time, org string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		if _, ok := seen[org]; ok {
			return true
		}
		select {
		case it := <-c:
			if it.Err == nil && it.Value.Kind == alerts.ChangeRaised {
				for _, o := range it.Value.Alert.Organizations {
					seen[o] = time.Now()
				}
			}
		case <-timeout:
			return false
		}
	}
}

// pollStore returns when the alert of org is in the store (checked every
// millisecond).
func pollStore(srv *server.Server, org string, start time.Time) time.Time {
	for time.Since(start) < time.Minute {
		page, err := srv.Store().Alerts(context.Background(), store.AlertFilter{Organization: org, Limit: 1})
		if err == nil && len(page.Alerts) > 0 {
			return time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	return time.Now()
}

func report(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	pct := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms-"+what)
	b.ReportMetric(pct(0.99), "p99-ms-"+what)
}
