// Package webhook is the webhook notification receiver: it POSTs
// notifications as JSON (schema Version, documented in
// docs/notifications.md) signed with HMAC-SHA256 over the timestamp and
// body, so the peer can check they come from crmwatch and are fresh.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crmwatch/notify"
	"crmwatch/secret"
)

// Version is the schema version of the body (field "version"); a change
// that breaks consumers gets a new version.
const Version = "1"

// Headers of a request.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// receiver's secret, of the timestamp header's value, ".", and the body.
	HeaderSignature = "X-Crmwatch-Signature"
	// HeaderTimestamp is the Unix time of the request in seconds; peers
	// should refuse old ones (replays).
	HeaderTimestamp = "X-Crmwatch-Timestamp"
)

// Body is what is posted.
type Body struct {
	Version       string                `json:"version"`
	Receiver      string                `json:"receiver"`
	SentAt        time.Time             `json:"sent_at"`
	Notifications []notify.Notification `json:"notifications"`
}

// Config of a webhook receiver (the webhook section of a receiver in the
// server's configuration file).
type Config struct {
	// URL receives the POSTs (http or https). A secret: it may carry a
	// token.
	URL secret.URL `yaml:"url"`
	// Secret keys the signature; without one the requests are not signed.
	Secret secret.Value `yaml:"secret"`
	// Timeout bounds one request (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBatch is the most notifications in one request (default 100).
	MaxBatch int `yaml:"max_batch"`
}

// Defaults (the one source of them).
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBatch = 100
)

// WithDefaults fills what is not set.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	return c
}

// Validate reports every problem at once; it never repeats the URL, which
// may hold a token.
func (c Config) Validate() error {
	var errs []error
	if err := c.URL.CheckHTTP("e.g. https://hooks.example/crmwatch"); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, errors.New("max_batch: must not be negative"))
	}
	return errors.Join(errs...)
}

// Receiver posts to one webhook.
type Receiver struct {
	name   string
	cfg    Config
	client *http.Client
	now    func() time.Time
}

// New builds a receiver from a validated config.
func New(name string, c Config) *Receiver {
	c = c.WithDefaults()
	return &Receiver{name: name, cfg: c, client: &http.Client{Timeout: c.Timeout}, now: time.Now}
}

// Name implements notify.Receiver.
func (r *Receiver) Name() string { return r.name }

// Kind implements notify.Receiver.
func (r *Receiver) Kind() string { return "webhook" }

// MaxBatch implements notify.Batcher.
func (r *Receiver) MaxBatch() int { return r.cfg.MaxBatch }

// Notify implements notify.Receiver: 2xx is accepted; 408, 429, 5xx and
// network errors may pass (retry); any other status is refused for good.
func (r *Receiver) Notify(ctx context.Context, ns []notify.Notification) (bool, error) {
	now := r.now()
	body, err := json.Marshal(Body{Version: Version, Receiver: r.name, SentAt: now.UTC(), Notifications: ns})
	if err != nil {
		return false, fmt.Errorf("webhook %s: encode: %w", r.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook %s: request to %s could not be built", r.name, r.cfg.URL)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmwatch-notify")
	req.Header.Set(HeaderTimestamp, ts)
	if !r.cfg.Secret.IsZero() {
		req.Header.Set(HeaderSignature, Sign(r.cfg.Secret, ts, body))
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("webhook %s: POST %s: %w", r.name, r.cfg.URL, transportError(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	// The peer may echo what it got: the URL's token, the signature key.
	text := secret.Scrub(strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")), append(r.cfg.URL.Credentials(), r.cfg.Secret)...)
	err = fmt.Errorf("webhook %s: POST %s: %s: %q", r.name, r.cfg.URL, resp.Status, text)
	retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return retry, err
}

// transportError drops the URL the http client puts in its errors (it may
// carry a token); what remains names the address and the failure.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// Sign is the signature header's value for a request.
func Sign(key secret.Value, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key.Reveal()))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature and that its timestamp is within
// maxAge of now: what a peer written in Go does with each request.
func Verify(key secret.Value, h http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: not a Unix time", HeaderTimestamp, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("%s is %s away from now; more than %s (a replay, or a clock off)", HeaderTimestamp, d.Round(time.Second), maxAge)
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(key, ts, body))) {
		return fmt.Errorf("%s does not match the body (wrong secret, or the body was changed)", HeaderSignature)
	}
	return nil
}
