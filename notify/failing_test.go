package notify_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/webhook"
	"crmwatch/rules"
	"crmwatch/secret"
)

// Every attempt lands in the receivers' shared health: refusals in a row
// with the error (no secret in it), ended by the first accepted send.
func TestPipelineRecordsHealth(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	h := newHook(t)
	h.fail.Store(1000)
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	p := notify.NewPipeline(notify.PipelineOptions{
		Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL + "/?token=tok-123456"), Secret: secret.New(hookKey)}),
		Router:   rt, Log: st, Holder: "test",
		Retry: notify.Retry{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, For: 100 * time.Millisecond},
	})
	ctx := context.Background()
	if err := p.Process(ctx, []alerts.Committed{committed(1, alerts.ChangeRaised, "A", 1, alerts.StateNew)}, nil); err != nil {
		t.Fatal(err)
	}
	ds, _ := st.Notifications(ctx, "A")
	hs, err := st.ReceiverHealth(ctx)
	if err != nil || len(hs) != 1 || hs[0].Receiver != "noc" || hs[0].Failures != int64(ds[0].Attempts) || !strings.Contains(hs[0].LastError, "503") ||
		strings.Contains(hs[0].LastError, "tok-123456") {
		t.Fatalf("health %+v (deliveries %+v) %v", hs, ds, err)
	}
	h.fail.Store(0)
	if err := p.Process(ctx, []alerts.Committed{committed(2, alerts.ChangeRaised, "B", 1, alerts.StateNew)}, nil); err != nil {
		t.Fatal(err)
	}
	if hs, err := st.ReceiverHealth(ctx); err != nil || len(hs) != 0 {
		t.Fatalf("health after an accepted send: %+v %v", hs, err)
	}
}

// The alert about a receiver failing goes to the other receivers, never to
// the one it is about (counted as dropped, reason self).
func TestPipelineNeverSendsItsOwnFailure(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	h := newHook(t)
	reg := prometheus.NewRegistry()
	m, _ := notify.NewMetrics(reg)
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	p := notify.NewPipeline(notify.PipelineOptions{
		Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL), Secret: secret.New(hookKey)}),
		Router:   rt, Log: st, Holder: "test", Metrics: m,
	})
	about := func(seq int64, id, receiver string) alerts.Committed {
		c := committed(seq, alerts.ChangeRaised, id, 1, alerts.StateNew)
		c.Alert.Rule, c.Alert.Fields = notify.RuleReceiverFailing, map[string]string{"instance": receiver}
		return c
	}
	if err := p.Process(context.Background(), []alerts.Committed{about(1, "self", "noc"), about(2, "other", "mail")}, nil); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	got := h.got
	h.mu.Unlock()
	if len(got) != 1 || got[2] != 1 {
		t.Fatalf("peer got %v; want only the alert about mail", got)
	}
	mfs, _ := reg.Gather()
	found := false
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if mf.GetName() == "crmwatch_notify_dropped_total" && strings.Contains(mt.String(), `value:"self"`) {
				found = mt.GetCounter().GetValue() == 1
			}
		}
	}
	if !found {
		t.Error(`crmwatch_notify_dropped_total{reason="self"} is not 1`)
	}
}

// The feed gives the engine 1 for a receiver past the policy, 0 otherwise,
// again when the verdict changes and once a minute; the built-in rule
// raises one alert per failing receiver and resolves it at the first 0.
func TestHealthFeedAndRule(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second)
	for i := range 3 {
		if err := st.RecordSend(ctx, "noc", false, "503", t0.Add(time.Duration(i)*10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	feed := &notify.HealthFeed{Log: st, Receivers: []string{"mail", "noc"}, Failing: notify.Failing{Attempts: 3, For: 30 * time.Second}}
	var changes []alerts.Change
	e := rules.NewEngine(rules.Options{Sender: alerts.SenderFunc(func(_ context.Context, cs []alerts.Change) error {
		changes = append(changes, cs...)
		return nil
	}), Logger: slog.New(slog.DiscardHandler)})
	if err := e.Load([]rules.Rule{notify.FailingRule()}); err != nil {
		t.Fatal(err)
	}
	values := func(now time.Time) string {
		var out []string
		ss := feed.Samples(ctx, now)
		for _, s := range ss {
			out = append(out, s.Counter+"="+map[bool]string{true: "1", false: "0"}[s.Value == 1])
		}
		if err := e.ProcessSamples(ctx, ss); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	// Three refusals, but the first only 20 s ago: not yet.
	if got := values(t0.Add(20 * time.Second)); got != `\crmwatch Notifications(mail)\Receiver Failing=0 \crmwatch Notifications(noc)\Receiver Failing=0` {
		t.Fatalf("first feed: %s", got)
	}
	if got := values(t0.Add(25 * time.Second)); got != "" {
		t.Fatalf("nothing changed, fed again: %s", got)
	}
	if got := values(t0.Add(30 * time.Second)); got != `\crmwatch Notifications(noc)\Receiver Failing=1` || len(changes) != 1 || changes[0].Kind != alerts.ChangeRaised {
		t.Fatalf("failing: %s; changes %+v", got, changes)
	}
	a := changes[0].Alert
	if a.Rule != notify.RuleReceiverFailing || a.Severity != alerts.SeverityError || a.Fields["instance"] != "noc" ||
		a.Summary != "Notification receiver noc keeps refusing notifications" || strings.Join(a.Hosts, ",") != notify.FailingHost {
		t.Fatalf("alert %+v", a)
	}
	if got := values(t0.Add(95 * time.Second)); !strings.Contains(got, "noc)\\Receiver Failing=1") || !strings.Contains(got, "mail)") {
		t.Fatalf("keep-alive after a minute: %s", got)
	}
	if err := st.RecordSend(ctx, "noc", true, "", t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := values(t0.Add(101 * time.Second)); got != `\crmwatch Notifications(noc)\Receiver Failing=0` || changes[len(changes)-1].Kind != alerts.ChangeResolved {
		t.Fatalf("recovered: %s; changes %+v", got, changes)
	}
	feed.Reset() // a new evaluator term feeds everything again
	if got := values(t0.Add(102 * time.Second)); strings.Count(got, "=0") != 2 {
		t.Fatalf("after a reset: %s", got)
	}
}

// The log is pruned at once and then every interval.
func TestPruneLoop(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	ctx, cancel := context.WithCancel(context.Background())
	rt, _ := notify.NewRouter(nil, []string{"noc"}, time.Hour)
	h := newHook(t)
	p := notify.NewPipeline(notify.PipelineOptions{
		Receiver: webhook.New("noc", webhook.Config{URL: secret.MustURL(h.URL), Secret: secret.New(hookKey)}), Router: rt, Log: st, Holder: "test"})
	if err := p.Process(ctx, []alerts.Committed{committed(1, alerts.ChangeRaised, "A", 1, alerts.StateNew)}, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); notify.PruneLoop(ctx, st, 200*time.Millisecond, 50*time.Millisecond, nil) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := st.Notifications(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not pruned: %+v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
