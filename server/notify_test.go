package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore/pgtest"
	"crmwatch/transport"

	notifyconfig "crmwatch/notify/config"
)

// hookPeer is an in-test webhook peer that verifies every signature and
// counts notifications per alert.
type hookPeer struct {
	*httptest.Server
	mu      sync.Mutex
	byAlert map[string]int
	tests   int
	bad     int
}

func newHookPeer(t *testing.T, key string) *hookPeer {
	h := &hookPeer{byAlert: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := webhook.Verify(secret.New(key), r.Header, body, time.Now(), time.Minute); err != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b webhook.Body
		_ = json.Unmarshal(body, &b)
		for _, n := range b.Notifications {
			if n.Test {
				h.tests++
				continue
			}
			h.byAlert[n.Alert.Summary]++
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookPeer) counts() (alerts, notifications, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.byAlert {
		alerts++
		notifications += n
	}
	return alerts, notifications, h.bad
}

// Two servers share the notification log (PostgreSQL) and the receiver's
// durable consumer; one stops half-way and starts again. Every alert
// raised is notified to the webhook exactly once, each delivery is listed
// with the alert in the API, /metrics counts them per receiver, and
// `notify test` reaches the peer.
func TestNotifyExactlyOnceTwoServersAndRestart(t *testing.T) {
	dsn := pgtest.DSN(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	const key = "hook-key-0451"
	hook := newHookPeer(t, key)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	packs := seqPackDir(t)
	var n notifyconfig.Section
	n.Receivers = []notifyconfig.Receiver{{Name: "noc", Webhook: &webhook.Config{URL: secret.MustURL(hook.URL), Secret: secret.New(key)}}}
	n.Routes = []notifyconfig.Route{{Matchers: []string{"rule=seq.record"}, Receivers: []string{"noc"}}}
	n.ConsoleURL = "https://crmwatch.example/"
	start := func() (*Server, func() error) {
		srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(nats.ClientURL()), Store: secret.MustURL(dsn),
			PackDirs: []string{packs}, TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second, Notify: n, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return srv, stop
	}
	a, stopA := start()
	b, stopB := start()
	defer func() { _ = stopB() }()
	pub := prefixedPublisher(t, nats.ClientURL(), "")
	const total, per = 600, 20
	for i := 0; i < total; i += per {
		if err := pub.Emit(ctx, seqBatch("CRMAPP01", "fp-n", i, per)); err != nil {
			t.Fatal(err)
		}
		if i == total/2 {
			_ = stopA()
			a, stopA = start()
		}
	}
	checkSeq(t, b.Store(), total, 60*time.Second)
	// Wait while notifications keep arriving (a loaded machine under -race
	// is slow, not wrong).
	for last, progress := -1, time.Now(); ; time.Sleep(50 * time.Millisecond) {
		al, ns, bad := hook.counts()
		if al == total || ns > al || bad > 0 {
			break
		}
		if al != last {
			last, progress = al, time.Now()
		}
		if time.Since(progress) > 30*time.Second {
			t.Fatalf("%d of %d alerts notified; none more for 30 s", al, total)
		}
	}
	time.Sleep(time.Second) // nothing more arrives
	if al, ns, bad := hook.counts(); al != total || ns != total || bad != 0 {
		t.Fatalf("%d alerts notified in %d notifications (%d badly signed); want %d each", al, ns, bad, total)
	}

	tok := operatorToken(t, a, "admin", access.RoleAdmin)
	page, err := a.Store().Alerts(ctx, store.AlertFilter{Rule: "seq.record", Limit: 1})
	if err != nil || len(page.Alerts) != 1 {
		t.Fatal(page, err)
	}
	var d api.AlertDetail
	getJSON(t, "http://"+a.HTTPAddr()+"/api/v1/alerts/"+page.Alerts[0].ID, tok, &d)
	if len(d.Notifications) != 1 || d.Notifications[0].Receiver != "noc" || d.Notifications[0].Result != store.DeliverySent || d.Notifications[0].Status != "firing" {
		t.Fatalf("deliveries of %s: %+v", page.Alerts[0].ID, d.Notifications)
	}
	metrics := getText(t, "http://"+b.HTTPAddr()+"/metrics", tok)
	for _, want := range []string{`crmwatch_notify_failed_total{receiver="noc"} 0`, `crmwatch_notify_sent_total{receiver="noc"}`, `crmwatch_notify_retried_total{receiver="noc"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, body := post(t, "http://"+b.HTTPAddr()+"/api/v1/notify/test/noc", tok)
	hook.mu.Lock()
	tests := hook.tests
	hook.mu.Unlock()
	if code != http.StatusOK || tests != 1 {
		t.Fatalf("notify test: %d %s; peer got %d tests", code, body, tests)
	}
	if code, body := post(t, "http://"+b.HTTPAddr()+"/api/v1/notify/test/pager", tok); code != http.StatusNotFound || !strings.Contains(body, "configured: [noc]") {
		t.Fatalf("unknown receiver: %d %s", code, body)
	}
	ro := operatorToken(t, a, "viewer", access.RoleReadonly)
	if code, _ := post(t, "http://"+b.HTTPAddr()+"/api/v1/notify/test/noc", ro); code != http.StatusForbidden {
		t.Fatalf("a read-only operator sent a test: %d", code)
	}
	_ = stopA()
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url, token)), out); err != nil {
		t.Fatal(err)
	}
}

func getText(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
