package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/secret"
)

const key = "s3cr3t-hmac-key"

func sample() []notify.Notification {
	a := alerts.Alert{ID: "A-1", Rule: "crm.trace.sql-error", Severity: alerts.SeverityError, State: alerts.StateNew,
		Hosts: []string{"CRMAPP01"}, Summary: "SQL errors on CRMAPP01", Version: 1}
	return []notify.Notification{{ID: notify.NotificationID(7), Seq: 7, Kind: alerts.ChangeRaised, Status: notify.StatusFiring, Alert: a}}
}

// A peer checks the signature with the shared secret and reads the
// documented body.
func TestWebhookSignedBody(t *testing.T) {
	var got Body
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = Verify(secret.New(key), r.Header, body, time.Now(), 5*time.Minute)
		_ = json.Unmarshal(body, &got)
		if r.Header.Get("Content-Type") != "application/json" {
			verr = io.ErrUnexpectedEOF
		}
	}))
	defer srv.Close()
	r := New("noc", Config{URL: secret.MustURL(srv.URL + "/hook"), Secret: secret.New(key)})
	if retry, err := r.Notify(context.Background(), sample()); err != nil || retry {
		t.Fatalf("notify: %v %v", retry, err)
	}
	if verr != nil {
		t.Fatalf("the peer refused the signature: %v", verr)
	}
	if got.Version != Version || got.Receiver != "noc" || len(got.Notifications) != 1 ||
		got.Notifications[0].Alert.ID != "A-1" || got.Notifications[0].Status != notify.StatusFiring || got.Notifications[0].ID != "crmwatch-change-7" {
		t.Fatalf("body %+v", got)
	}
}

// A wrong secret, a changed body or an old timestamp fail verification.
func TestVerifyRefuses(t *testing.T) {
	body := []byte(`{"version":"1"}`)
	now := time.Now()
	h := http.Header{}
	ts := strings.TrimSpace(json.Number(itoa(now.Unix())).String())
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(secret.New(key), ts, body))
	if err := Verify(secret.New(key), h, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if Verify(secret.New("other"), h, body, now, time.Minute) == nil {
		t.Fatal("wrong secret accepted")
	}
	if Verify(secret.New(key), h, []byte(`{"version":"2"}`), now, time.Minute) == nil {
		t.Fatal("changed body accepted")
	}
	if err := Verify(secret.New(key), h, body, now.Add(time.Hour), time.Minute); err == nil || !strings.Contains(err.Error(), "replay") {
		t.Fatalf("old request: %v", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// 5xx, 429 and timeouts may pass (retry); other 4xx do not; errors name
// the status but never the URL's token or the secret.
func TestWebhookFailures(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status.Load() == 0 {
			time.Sleep(300 * time.Millisecond)
			return
		}
		w.WriteHeader(int(status.Load()))
		_, _ = io.WriteString(w, "refused "+key)
	}))
	defer srv.Close()
	const token = "tok-9f8e7d"
	r := New("noc", Config{URL: secret.MustURL(srv.URL + "/hook?token=" + token), Secret: secret.New(key), Timeout: 100 * time.Millisecond})
	for _, tc := range []struct {
		status int
		retry  bool
		text   string
	}{{0, true, "timed out"}, {503, true, "503"}, {429, true, "429"}, {400, false, "400"}, {404, false, "404"}} {
		status.Store(int32(tc.status))
		retry, err := r.Notify(context.Background(), sample())
		if err == nil || retry != tc.retry || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("status %d: retry %v err %v; want retry %v and %q", tc.status, retry, err, tc.retry, tc.text)
			continue
		}
		if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), key) {
			t.Errorf("status %d: a secret leaked: %v", tc.status, err)
		}
	}
	// Nothing listening.
	srv.Close()
	if retry, err := r.Notify(context.Background(), sample()); err == nil || !retry || strings.Contains(err.Error(), token) {
		t.Fatalf("closed peer: %v %v", retry, err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{URL: secret.MustURL("ftp://user:pw-123@x/"), Timeout: -1, MaxBatch: -2}.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"url", "timeout", "max_batch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not named in %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw-123") {
		t.Errorf("password in %v", err)
	}
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("empty: %v", err)
	}
}
