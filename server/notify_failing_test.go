package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/notify"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore/pgtest"
	"crmwatch/transport"

	notifyconfig "crmwatch/notify/config"
)

// statusPeer is a webhook peer that notes every notification it is sent
// (also those it refuses) as "rule status", and answers 500 while refusing.
type statusPeer struct {
	*httptest.Server
	refuse atomic.Bool
	mu     sync.Mutex
	got    []string
}

func newStatusPeer(t *testing.T) *statusPeer {
	p := &statusPeer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b webhook.Body
		_ = json.Unmarshal(body, &b)
		p.mu.Lock()
		for _, n := range b.Notifications {
			p.got = append(p.got, n.Alert.Rule+" "+string(n.Status))
		}
		p.mu.Unlock()
		if p.refuse.Load() {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *statusPeer) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.got {
		if g == s {
			n++
		}
	}
	return n
}

// A receiver that keeps refusing (500) raises one crmwatch alert about it
// — one, though two servers sharing the store and the stream both send to
// it — listed by the API and notified to the other receiver but never to
// the failing one; once the receiver accepts a send again (`notify test`,
// or the next notification) the alert resolves by itself, and the other
// receiver is told so.
func TestNotifyReceiverFailingAlert(t *testing.T) {
	dsn := pgtest.DSN(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	flaky, noc := newStatusPeer(t), newStatusPeer(t)
	flaky.refuse.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	packs := seqPackDir(t)
	n := notifyconfig.Section{
		Receivers: []notifyconfig.Receiver{
			{Name: "flaky", Webhook: &webhook.Config{URL: secret.MustURL(flaky.URL)}},
			{Name: "noc", Webhook: &webhook.Config{URL: secret.MustURL(noc.URL)}},
		},
		Retry:   notifyconfig.Retry{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, For: 300 * time.Millisecond},
		Failing: notifyconfig.Failing{Attempts: 4, For: 500 * time.Millisecond},
	}
	var stops []func() error
	var servers []*Server
	for range 2 {
		srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(nats.ClientURL()), Store: secret.MustURL(dsn),
			PackDirs: []string{packs}, TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second, Notify: n, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		servers, stops = append(servers, srv), append(stops, stop)
	}
	defer func() {
		for _, stop := range stops {
			_ = stop()
		}
	}()
	pub := prefixedPublisher(t, nats.ClientURL(), "")
	tok := operatorToken(t, servers[0], "admin", access.RoleAdmin)
	failing := func() []api.Alert {
		var r api.AlertsResponse
		getJSON(t, "http://"+servers[1].HTTPAddr()+"/api/v1/alerts?rule="+notify.RuleReceiverFailing, tok, &r)
		return r.Alerts
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 60 s; flaky got %v, noc got %v, alerts about receivers %+v", what, flaky.got, noc.got, failing())
			}
		}
	}
	// Alerts keep coming while flaky refuses.
	emitted := 0
	emit := func() {
		if err := pub.Emit(ctx, seqBatch("CRMAPP01", "fp-f", emitted, 1)); err != nil {
			t.Fatal(err)
		}
		emitted++
	}
	raised := func(times int) api.Alert {
		t.Helper()
		waitFor("alert about flaky", func() bool {
			emit()
			as := failing()
			return len(as) > 0 && as[0].State == alerts.StateNew
		})
		as := failing()
		if len(as) != 1 || as[0].Severity != alerts.SeverityError || as[0].Summary != "Notification receiver flaky keeps refusing notifications" {
			t.Fatalf("alerts about receivers: %+v", as)
		}
		waitFor("notification of it to noc", func() bool { return noc.count(notify.RuleReceiverFailing+" firing") == times })
		return as[0]
	}
	resolved := func(times int, poke func()) {
		t.Helper()
		waitFor("resolution", func() bool {
			poke()
			as := failing()
			return len(as) == 1 && as[0].State == alerts.StateResolved
		})
		waitFor("resolution notified to noc", func() bool { return noc.count(notify.RuleReceiverFailing+" resolved") == times })
	}
	first := raised(1)
	var rs []api.ReceiverInfo
	getJSON(t, "http://"+servers[1].HTTPAddr()+"/api/v1/notify/receivers", tok, &rs)
	if len(rs) != 2 || rs[0].Name != "flaky" || !rs[0].Failing || rs[0].Failures < 4 || rs[0].FailingSince == nil ||
		!strings.Contains(rs[0].LastError, "500") || rs[1].Name != "noc" || rs[1].Failures != 0 || rs[1].Failing {
		t.Errorf("receivers: %+v", rs)
	}
	// flaky accepts again: `notify test` gets through and ends it, with
	// no alert to send.
	flaky.refuse.Store(false)
	tested := false
	resolved(1, func() {
		if !tested {
			if code, body := post(t, "http://"+servers[0].HTTPAddr()+"/api/v1/notify/test/flaky", tok); code != http.StatusOK {
				t.Fatalf("notify test: %d %s", code, body)
			}
			tested = true
		}
	})
	// It refuses again (the same alert reopens), then the next alert it
	// is sent gets through and ends it.
	flaky.refuse.Store(true)
	if again := raised(2); again.ID != first.ID {
		t.Errorf("a new alert %s, want %s reopened", again.ID, first.ID)
	}
	flaky.refuse.Store(false)
	resolved(2, emit)
	time.Sleep(500 * time.Millisecond)
	if got := flaky.count(notify.RuleReceiverFailing+" firing") + flaky.count(notify.RuleReceiverFailing+" resolved"); got != 0 {
		t.Errorf("flaky was sent the alert about itself %d times", got)
	}
	if f, r := noc.count(notify.RuleReceiverFailing+" firing"), noc.count(notify.RuleReceiverFailing+" resolved"); f != 2 || r != 2 {
		t.Errorf("noc was told %d times that flaky fails and %d that it recovered; want twice each", f, r)
	}
	as := failing()
	if len(as) != 1 {
		t.Fatalf("alerts about receivers after recovery: %+v", as)
	}
	d, err := servers[0].Store().Alert(ctx, as[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := d.Alert.Hosts; len(h) != 1 || h[0] != notify.FailingHost || !strings.Contains(d.Alert.Knowledge.Resolution, "crmwatch notify test") {
		t.Errorf("alert %+v", d.Alert)
	}
	ds, err := servers[0].Store().Notifications(ctx, as[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range ds {
		if dl.Receiver != "noc" || dl.Result != store.DeliverySent {
			t.Errorf("delivery %+v", dl)
		}
	}
}
