package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"
)

// logBuffer is a slog sink tests read while the server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// authNATS starts an embedded server with authentication on, the server's
// own connection and the streams and buckets; it returns the server, its
// log, the server's connection and the users it started with.
func authNATS(t *testing.T, agents ...Enrolled) (*Embedded, *logBuffer, jetstream.JetStream, Users, Names) {
	t.Helper()
	names, _ := NewNames("")
	pub, seed, err := NewUserKey()
	if err != nil {
		t.Fatal(err)
	}
	users := Users{Server: pub, Agents: agents}
	logs := &logBuffer{}
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second,
		Users: &users, Names: names, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	key, err := ParseUserKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := Connect(ConnectOptions{InProcess: e, URLs: []string{"nats://in-process"}, WaitFirst: true, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := Setup(ctx, js, names, StreamLimits{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	return e, logs, js, users, names
}

// agentConn connects as host with seed over TCP, the way an agent does.
func agentConn(t *testing.T, e *Embedded, names Names, host string, seed secret.Value) (*nats.Conn, error) {
	t.Helper()
	co := ConnectOptions{URLs: []string{e.ClientURL()}, WaitFirst: true, InboxPrefix: names.InboxPrefix(host)}
	if !seed.IsZero() {
		key, err := ParseUserKey(seed)
		if err != nil {
			return nil, err
		}
		co.Key = &key
	}
	nc, err := Connect(co)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// TestEnrolledAgentDoesItsJobAndNoMore: with the permissions of its host an
// agent publishes its events and samples, writes its registration and
// acknowledgement, watches its desired setting and the plans; publishing
// for another host, reading another host's setting or the events stream
// is refused, and the NATS server logs the attempt.
func TestEnrolledAgentDoesItsJobAndNoMore(t *testing.T) {
	pubA, seedA, _ := NewUserKey()
	e, logs, js, _, names := authNATS(t, Enrolled{Name: "CRMAPP01", PublicKey: pubA})
	nc, err := agentConn(t, e, names, "CRMAPP01", seedA)
	if err != nil {
		t.Fatal(err)
	}
	checkAgentPermissions(t, js, nc, names, logs.String)
}

// checkAgentPermissions runs what an agent of CRMAPP01 does, and what it
// must not do, over nc; js is the crmwatch server's view; logs is the NATS
// server's log.
func checkAgentPermissions(t *testing.T, js jetstream.JetStream, nc *nats.Conn, names Names, logs func() string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The server side writes what agents read.
	kvTrace, _ := js.KeyValue(ctx, names.TraceSettingsBucket())
	kvTrace.Put(ctx, "desired.CRMAPP01", []byte(`{"mine":true}`))
	kvTrace.Put(ctx, "desired.CRMAPP02", []byte(`{"other":true}`))
	plans, _ := OpenPlans(ctx, js, names)
	plans.Put(ctx, event.RoleAppServer, collectors.Plan{})

	ajs, _ := jetstream.New(nc)
	pub, err := NewPublisher(PublisherOptions{JS: ajs, Names: names, AckTimeout: time.Second, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := event.Batch{Host: "CRMAPP01", Events: traceEvents("CRMAPP01", "fp", 0, 3),
		Samples: []event.Sample{{Time: time.Now(), Host: "CRMAPP01", Counter: `\Processor(_Total)\% Processor Time`, Value: 5}}}
	if err := pub.Emit(ctx, b); err != nil {
		t.Fatalf("own events: %v", err)
	}
	ag, err := OpenAgents(ctx, ajs, names)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Put(ctx, Registration{Name: "CRMAPP01"}); err != nil {
		t.Fatalf("own registration: %v", err)
	}
	akv, err := ajs.KeyValue(ctx, names.TraceSettingsBucket())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := akv.Put(ctx, "applied.CRMAPP01", []byte(`{}`)); err != nil {
		t.Fatalf("own acknowledgement: %v", err)
	}
	w, err := akv.Watch(ctx, "desired.CRMAPP01")
	if err != nil {
		t.Fatalf("watch own desired setting: %v", err)
	}
	if e := <-w.Updates(); e == nil || !strings.Contains(string(e.Value()), "mine") {
		t.Fatalf("own desired setting: %v", e)
	}
	w.Stop()
	aplans, err := OpenPlans(ctx, ajs, names)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan event.Role, 4)
	pctx, pcancel := context.WithCancel(ctx)
	go aplans.Watch(pctx, func(r event.Role, _ collectors.Plan) { got <- r }, nil) //nolint:errcheck
	select {
	case r := <-got:
		if r != event.RoleAppServer {
			t.Fatalf("plan of %s", r)
		}
	case <-ctx.Done():
		t.Fatal("the plans never arrived")
	}
	pcancel()
	if strings.Contains(logs(), "Violation") {
		t.Fatalf("the agent's own work was refused:\n%s", logs())
	}

	// Now what it must not do.
	deny := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	short := deny()
	forged := PublisherOptions{JS: ajs, Names: names, AckTimeout: 500 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	fp, _ := NewPublisher(forged)
	if err := fp.Emit(short, event.Batch{Host: "CRMAPP02", Events: traceEvents("CRMAPP02", "fp", 0, 1)}); err == nil {
		t.Fatal("published events for another host")
	}
	waitFor(t, 5*time.Second, "the refusal logged", func() bool {
		return strings.Contains(logs(), `Publish Violation`) && strings.Contains(logs(), names.EventsSubject("CRMAPP02"))
	})
	if _, err := ajs.Publish(deny(), names.SamplesSubject("CRMAPP02"), []byte("x")); err == nil {
		t.Error("published samples for another host")
	}
	if _, err := akv.Put(deny(), "desired.CRMAPP01", []byte(`{}`)); err == nil {
		t.Error("wrote its own desired setting")
	}
	if _, err := akv.Put(deny(), "applied.CRMAPP02", []byte(`{}`)); err == nil {
		t.Error("acknowledged for another host")
	}
	if err := ag.Put(deny(), Registration{Name: "CRMAPP02"}); err == nil {
		t.Error("registered another host")
	}
	if w, err := akv.Watch(short, "desired.CRMAPP02"); err == nil {
		select {
		case e := <-w.Updates():
			if e != nil {
				t.Errorf("read another host's desired setting: %s", e.Value())
			}
		case <-short.Done():
		}
		w.Stop()
	}
	if w, err := akv.Watch(deny(), "desired.>"); err == nil {
		select {
		case e := <-w.Updates():
			if e != nil {
				t.Errorf("read every desired setting: %s", e.Value())
			}
		case <-time.After(time.Second):
		}
		w.Stop()
	}
	if _, err := akv.Get(deny(), "desired.CRMAPP02"); err == nil {
		t.Error("got another host's desired setting")
	}
	if _, err := ajs.Stream(deny(), names.EventsStream()); err == nil {
		t.Error("looked up the events stream")
	}
	if _, err := nc.Subscribe(names.EventsFilter(), func(*nats.Msg) {}); err == nil {
		nc.Flush()
		if !errors.Is(nc.LastError(), nats.ErrPermissionViolation) {
			t.Errorf("subscribed to every host's events: %v", nc.LastError())
		}
	}
}

// TestUnenrolledAndRevoked: a client without a key, or with a key nobody
// enrolled, cannot connect; a revoked agent is disconnected at once and
// cannot come back.
func TestUnenrolledAndRevoked(t *testing.T) {
	pubA, seedA, _ := NewUserKey()
	e, _, _, users, names := authNATS(t, Enrolled{Name: "CRMAPP01", PublicKey: pubA})
	if _, err := agentConn(t, e, names, "anon", secret.Value{}); err == nil || !strings.Contains(err.Error(), "uthorization") {
		t.Fatalf("anonymous client: %v", err)
	}
	_, stranger, _ := NewUserKey()
	if _, err := agentConn(t, e, names, "CRMAPP01", stranger); err == nil || !strings.Contains(err.Error(), "uthorization") {
		t.Fatalf("unenrolled key: %v", err)
	}
	nc, err := agentConn(t, e, names, "CRMAPP01", seedA)
	if err != nil {
		t.Fatal(err)
	}
	users.Agents = nil
	if err := e.SetUsers(users); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "revoked agent disconnected", func() bool { return !nc.IsConnected() })
	time.Sleep(1500 * time.Millisecond) // a reconnect attempt or two
	if nc.IsConnected() {
		t.Fatal("revoked agent reconnected")
	}
}
