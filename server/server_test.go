package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/transport"
)

// running starts a server on free ports in dir and returns it with a stop
// function that waits for Run to return.
func running(t *testing.T, dir string) (*Server, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, stop, err := Start(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", NATSSyncInterval: time.Second, TickEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	return srv, func() {
		if err := stop(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
}

func publisherTo(t testing.TB, url string) *transport.Publisher {
	t.Helper()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{url}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	pub, err := transport.NewPublisher(transport.PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func sqlErrors(host, fp string, from, n int) event.Batch {
	b := event.Batch{Host: host}
	for i := from; i < from+n; i++ {
		b.Events = append(b.Events, event.Event{
			Time: time.Now(), Host: host, Role: "AppServer", Source: event.SourceTrace, Level: event.LevelError,
			Organization: "contoso", Category: "Platform.Sql", Message: "SqlException: Timeout expired",
			Origin: event.Origin{Collector: "tracefiles", File: "w3wp.log", Fingerprint: fp, Offset: int64(i) * 200},
		})
	}
	return b
}

func openAlert(t *testing.T, srv *Server, minRepeats int) alerts.Alert {
	t.Helper()
	var got []alerts.Alert
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		page, err := srv.Store().Alerts(context.Background(), store.AlertFilter{Rule: "crm.trace.sql-error"})
		if err != nil {
			t.Fatal(err)
		}
		got = page.Alerts
		if len(got) == 1 && got[0].RepeatCount >= minRepeats {
			return got[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no single crm.trace.sql-error alert with ≥ %d repeats within 15s: %+v", minRepeats, got)
	return alerts.Alert{}
}

func TestServerIngestsAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv, stop := running(t, dir)
	pub := publisherTo(t, srv.NATSURL().Reveal())
	ctx := context.Background()
	if err := pub.Emit(ctx, sqlErrors("CRMAPP01", "fp1", 0, 3)); err != nil {
		t.Fatal(err)
	}
	a := openAlert(t, srv, 3)
	if a.Severity != alerts.SeverityError || a.State != alerts.StateNew {
		t.Errorf("alert %+v: want severity error, state new", a)
	}
	// A re-send after an agent crash (same file, overlapping offsets) must
	// not count again: 3 old + 2 new records.
	if err := pub.Emit(ctx, sqlErrors("CRMAPP01", "fp1", 1, 4)); err != nil {
		t.Fatal(err)
	}
	a = openAlert(t, srv, 5)
	if a.RepeatCount != 5 {
		t.Errorf("repeat count %d after a partial re-send, want 5", a.RepeatCount)
	}

	tok, err := access.CreateOperator(ctx, srv.Store(), access.NewOperator{Name: "noc", Role: access.RoleReadonly, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `crmwatch_ingest_duplicate_observations_total{stream="events"} 2`) {
		t.Errorf("/metrics does not show the 2 dropped duplicates:\n%.2000s", body)
	}
	stop()

	srv2, stop2 := running(t, dir)
	defer stop2()
	b := openAlert(t, srv2, 5)
	if b.ID != a.ID || b.RepeatCount != 5 {
		t.Fatalf("after restart: %s with %d repeats, want %s with 5", b.ID, b.RepeatCount, a.ID)
	}
	pub2 := publisherTo(t, srv2.NATSURL().Reveal())
	if err := pub2.Emit(ctx, sqlErrors("CRMAPP01", "fp2", 0, 2)); err != nil {
		t.Fatal(err)
	}
	c := openAlert(t, srv2, 7)
	if c.ID != a.ID {
		t.Errorf("new repeats after restart raised %s, want the same alert %s", c.ID, a.ID)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want []string
	}{
		{Options{}, nil},
		{Options{Listen: "nope", NATSListen: "also-nope"}, []string{"--listen", "--nats-listen"}},
		{Options{NATS: secret.MustURL("a:4222"), Store: secret.MustURL("mysql://x")}, []string{`--nats "a:4222"`, "no scheme", "--store", "mysql"}},
		{Options{NATS: secret.MustURL("http://a:4222")}, []string{`--nats "http://a:4222"`, "not nats:// or tls://"}},
		{Options{NATS: secret.MustURL("nats://a:4222,nats://b:4222"), Store: secret.MustURL("postgres://u@h:5432/db")}, nil},
		{Options{Prefix: "x.y"}, []string{"x.y"}},
		{Options{StreamMaxBytes: 4096}, []string{"--stream-max-bytes 4096", "at least 1MiB"}},
		{Options{StreamMaxBytes: -1}, nil},
		{Options{SessionTTL: -time.Hour}, []string{"--session-ttl -1h0m0s is negative", "e.g. 12h"}},
	} {
		err := tc.o.withDefaults().Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%+v: unexpected %v", tc.o, err)
			}
			continue
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v does not mention %q", tc.o, err, w)
			}
		}
	}
}
