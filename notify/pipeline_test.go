package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
	"crmwatch/transport"
)

const hookKey = "pipeline-hook-key"

// hook is an in-test webhook peer that verifies every request and counts
// the notifications it got per change.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	got    map[int64]int
	bodies []webhook.Body
	fail   atomic.Int32 // answer 503 this many more times
}

func newHook(t testing.TB) *hook {
	h := &hook{got: map[int64]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret.New(hookKey), r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("peer: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.fail.Load() > 0 {
			h.fail.Add(-1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var b webhook.Body
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("peer: %v", err)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		for _, n := range b.Notifications {
			h.got[n.Seq]++
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) count() (changes, notifications int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.got {
		changes++
		notifications += n
	}
	return
}

func openStore(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func committed(seq int64, kind alerts.ChangeKind, id string, version int64, st alerts.State) alerts.Committed {
	return alerts.Committed{Seq: seq, Kind: kind, At: time.Now(), By: "rule",
		Alert: alerts.Alert{ID: id, Rule: "crm.trace.sql-error", Severity: alerts.SeverityError, State: st, Version: version,
			Hosts: []string{"CRMAPP01"}, Organizations: []string{"org-1", "org-2"}, Summary: "SQL errors on CRMAPP01"}}
}

type roles map[string][]string

func (r roles) Roles(host string) []string { return r[host] }
func (r roles) Groups(string) []string     { return nil }

type orgNames map[string]string

func (o orgNames) Name(org string) string { return o[org] }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The stages in one pass: routed, suppressed dropped, repeats throttled,
// a refusing receiver retried with backoff, the result recorded.
func TestPipelineStages(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	h := newHook(t)
	h.fail.Store(2)
	reg := prometheus.NewRegistry()
	m, err := notify.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	var logs syncBuffer
	p := notify.NewPipeline(notify.PipelineOptions{
		Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL), Secret: secret.New(hookKey)}),
		Router:   rt, Log: st, Holder: "test", Metrics: m, ConsoleURL: "https://crmwatch.example/",
		Hosts: roles{"CRMAPP01": {"AppServer", "AsyncServer"}}, OrgNames: orgNames{"org-1": "Contoso"},
		Retry:  notify.Retry{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, For: 5 * time.Second},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	muted := committed(4, alerts.ChangeRaised, "B", 1, alerts.StateNew)
	muted.Alert.SuppressedBy = "silence:s1"
	waits := 0
	err = p.Process(context.Background(), []alerts.Committed{
		committed(1, alerts.ChangeRaised, "A", 1, alerts.StateNew),
		committed(2, alerts.ChangeRepeated, "A", 2, alerts.StateNew),
		committed(3, alerts.ChangeRepeated, "A", 3, alerts.StateNew),
		muted,
		committed(5, alerts.ChangeResolved, "A", 4, alerts.StateResolved),
	}, func() { waits++ })
	if err != nil {
		t.Fatal(err)
	}
	if waits != 2 {
		t.Errorf("waited %d times for retries, want 2", waits)
	}
	if len(h.bodies) != 1 || len(h.bodies[0].Notifications) != 2 {
		t.Fatalf("bodies %+v", h.bodies)
	}
	ns := h.bodies[0].Notifications
	if ns[0].Seq != 1 || ns[0].Status != notify.StatusFiring || ns[1].Seq != 5 || ns[1].Status != notify.StatusResolved ||
		ns[0].ConsoleURL != "https://crmwatch.example/alerts/A" || ns[0].ID != "crmwatch-change-1" ||
		strings.Join(ns[0].Roles, ",") != "AppServer,AsyncServer" || strings.Join(ns[0].OrganizationNames, ",") != "Contoso," {
		t.Fatalf("notifications %+v", ns)
	}
	// One line when the receiver starts refusing, one when it accepts again.
	if n, m := strings.Count(logs.String(), "retrying with backoff"), strings.Count(logs.String(), "accepts notifications again"); n != 1 || m != 1 {
		t.Errorf("log lines: %d refusing, %d accepting again:\n%s", n, m, logs.String())
	}
	ds, err := st.Notifications(context.Background(), "A")
	if err != nil || len(ds) != 2 || ds[0].Result != store.DeliverySent || ds[0].Attempts != 3 || ds[1].Kind != alerts.ChangeResolved {
		t.Fatalf("log %+v %v", ds, err)
	}
	for name, want := range map[string]float64{"crmwatch_notify_sent_total": 2, "crmwatch_notify_retried_total": 4, "crmwatch_notify_failed_total": 0} {
		if got := testutil.ToFloat64(counter(t, reg, name)); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			v := mf.GetMetric()[0].GetCounter().GetValue()
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			g.Set(v)
			return g
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// A receiver that keeps refusing is given up on after the retry time; the
// log says failed with the error, which never carries the URL's token.
func TestPipelineGivesUp(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	h := newHook(t)
	h.fail.Store(1000)
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	p := notify.NewPipeline(notify.PipelineOptions{
		Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL + "/?token=tok-123456"), Secret: secret.New(hookKey)}),
		Router:   rt, Log: st, Holder: "test",
		Retry: notify.Retry{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, For: 100 * time.Millisecond},
	})
	if err := p.Process(context.Background(), []alerts.Committed{committed(1, alerts.ChangeRaised, "A", 1, alerts.StateNew)}, nil); err != nil {
		t.Fatal(err)
	}
	ds, _ := st.Notifications(context.Background(), "A")
	if len(ds) != 1 || ds[0].Result != store.DeliveryFailed || ds[0].Attempts < 3 || !strings.Contains(ds[0].Error, "503") || strings.Contains(ds[0].Error, "tok-123456") {
		t.Fatalf("log %+v", ds)
	}
}

// Two servers' consumers share the receiver's durable consumer, one stops
// half-way and starts again: every change reaches the webhook exactly once.
func TestConsumersExactlyOnce(t *testing.T) {
	ns, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{ns.ClientURL()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := transport.Setup(ctx, js, names, transport.StreamLimits{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "shared.db")
	h := newHook(t)
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	start := func(holder string) (stop func()) {
		st := openStore(t, dbPath)
		p := notify.NewPipeline(notify.PipelineOptions{
			Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL), Secret: secret.New(hookKey), MaxBatch: 7}),
			Router:   rt, Log: st, Holder: holder,
		})
		c := notify.NewConsumer(notify.ConsumerOptions{JS: js, Names: names, Pipeline: p, Batch: 50})
		cons, err := c.Ensure(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cfg := cons.CachedInfo().Config; cfg.DeliverPolicy != jetstream.DeliverNewPolicy || cfg.InactiveThreshold != 7*24*time.Hour ||
			cfg.Durable != "CRMWATCH_ALERT_CHANGES_NOTIFY_noc" || cfg.AckPolicy != jetstream.AckExplicitPolicy {
			t.Fatalf("consumer %+v", cfg)
		}
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(cctx, cons) }()
		return func() { ccancel(); <-done }
	}
	stopA := start("a")
	stopB := start("b")
	const total = 1200
	publish := func(from, to int) {
		var cs []alerts.Committed
		for i := from; i < to; i++ {
			cs = append(cs, committed(int64(i+1), alerts.ChangeRaised, "alert-"+itoa(i), 1, alerts.StateNew))
		}
		for len(cs) > 0 {
			n := min(len(cs), 500)
			if _, err := transport.PublishChanges(ctx, js, names, cs[:n]); err != nil {
				t.Fatal(err)
			}
			cs = cs[n:]
		}
	}
	publish(0, total/2)
	stopA() // one server stops mid-stream …
	publish(total/2, total)
	stopA = start("a") // … and comes back
	last, progress := 0, time.Now()
	for {
		changes, sent := h.count()
		if changes == total && sent == total {
			break
		}
		if sent != last {
			last, progress = sent, time.Now()
		}
		if time.Since(progress) > 20*time.Second || sent > changes {
			t.Fatalf("%d changes notified in %d notifications; want %d each", changes, sent, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // nothing more arrives
	if changes, sent := h.count(); changes != total || sent != total {
		t.Fatalf("after settling: %d changes in %d notifications", changes, sent)
	}
	stopA()
	stopB()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
