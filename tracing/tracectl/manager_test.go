package tracectl

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/store"
	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

func startJetStream(t *testing.T) jetstream.JetStream {
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
	if err := transport.Setup(context.Background(), js, transport.Names{}, transport.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	return js
}

// auditLog is an Auditor that can be told to fail.
type auditLog struct {
	mu      sync.Mutex
	entries []store.AuditEntry
	fail    bool
}

func (a *auditLog) Audit(_ context.Context, e store.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("database is locked")
	}
	a.entries = append(a.entries, e)
	return nil
}

func (a *auditLog) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.entries)
}

func runManager(t *testing.T, js jetstream.JetStream, audit Auditor) *Manager {
	t.Helper()
	m, err := NewManager(ManagerOptions{JS: js, Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	select {
	case <-m.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("manager not ready")
	}
	return m
}

// TestUnauditedChangesAreRolledBack: no set or clear stays without its
// audit entry.
func TestUnauditedChangesAreRolledBack(t *testing.T) {
	js := startJetStream(t)
	audit := &auditLog{}
	m := runManager(t, js, audit)
	ctx := context.Background()
	op := Operator{Name: "alice"}
	first, err := m.Set(ctx, op, settings.Request{Target: settings.Farm, Categories: "*:Error"})
	if err != nil {
		t.Fatal(err)
	}
	audit.mu.Lock()
	audit.fail = true
	audit.mu.Unlock()
	if _, err := m.Set(ctx, op, settings.Request{Target: settings.Farm, Categories: "*:Verbose"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("set without audit: %v", err)
	}
	if _, err := m.Clear(ctx, op, settings.ClearRequest{Target: settings.Farm}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("clear without audit: %v", err)
	}
	st, err := m.Status(ctx)
	if err != nil || len(st.Settings) != 1 || st.Settings[0].ID != first.Setting.ID {
		t.Fatalf("after refused changes: %+v %v; want the first setting only", st.Settings, err)
	}
	b, _ := OpenBucket(ctx, js, transport.Names{})
	var s settings.Setting
	if found, _, err := b.get(ctx, TargetKey(settings.Farm), &s); err != nil || !found || s.ID != first.Setting.ID {
		t.Errorf("bucket holds %+v (found %v, %v)", s, found, err)
	}
}

// TestAgentEventsAuditedOnce: two servers (or one restarted) seeing the
// same acknowledgement audit its events once; a newer event is audited
// on its own.
func TestAgentEventsAuditedOnce(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	b, err := OpenBucket(ctx, js, transport.Names{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	evs := []settings.AgentEvent{{At: t0, State: settings.StateExpired}, {At: t0.Add(time.Minute), State: settings.StateGuard}}
	got, err := b.claimEvents(ctx, "CRMAPP01", evs)
	if err != nil || len(got) != 2 {
		t.Fatalf("first claim: %v %v", got, err)
	}
	if got, err := b.claimEvents(ctx, "CRMAPP01", evs); err != nil || len(got) != 0 {
		t.Fatalf("second claim: %v %v", got, err)
	}
	evs = append(evs, settings.AgentEvent{At: t0.Add(2 * time.Minute), State: settings.StateExpired})
	if got, err := b.claimEvents(ctx, "CRMAPP01", evs); err != nil || len(got) != 1 || !got[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("newer event: %v %v", got, err)
	}

	// Two managers watching the same acknowledgement write one entry.
	a1, a2 := &auditLog{}, &auditLog{}
	runManager(t, js, a1)
	runManager(t, js, a2)
	ack := settings.Applied{Host: "CRMASYNC01", State: settings.StateExpired, At: t0,
		Events: []settings.AgentEvent{{At: t0, State: settings.StateExpired, Setting: &settings.Setting{ID: "s1", SetBy: "bob"}}}}
	if err := b.PutApplied(ctx, ack); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && a1.len()+a2.len() == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	a1.mu.Lock()
	a2.mu.Lock()
	defer a1.mu.Unlock()
	defer a2.mu.Unlock()
	if n := len(a1.entries) + len(a2.entries); n != 1 {
		t.Fatalf("%d audit entries from two servers, want 1: %+v %+v", n, a1.entries, a2.entries)
	}
	e := append(a1.entries, a2.entries...)[0]
	if e.Action != ActionExpired || e.Actor != "agent:CRMASYNC01" || !e.At.Equal(t0) {
		t.Errorf("entry %+v", e)
	}
}
