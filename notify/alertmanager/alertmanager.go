// Package alertmanager is the Prometheus Alertmanager notification
// receiver: it posts alerts to Alertmanager's API v2 (POST
// /api/v2/alerts) with the labels and annotations operators route and
// silence on there, and ends them there (endsAt) when they are resolved
// here.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"crmwatch/notify"
	"crmwatch/secret"
)

// Config of an Alertmanager receiver (the alertmanager section of a
// receiver in the server's configuration file).
type Config struct {
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093 (the
	// receiver posts to <url>/api/v2/alerts). A secret: it may carry
	// credentials.
	URL secret.URL `yaml:"url"`
	// Username and Password: HTTP basic auth, when Alertmanager sits behind
	// a proxy that asks for it.
	Username string       `yaml:"username"`
	Password secret.Value `yaml:"password"`
	// Timeout bounds one request (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// FiringTTL is the endsAt given to a firing alert, from the send: an
	// alert crmwatch keeps open is only sent again as a reminder, so
	// Alertmanager must not end it by itself in between (default 7 days;
	// resolving it here ends it there at once).
	FiringTTL time.Duration `yaml:"firing_ttl"`
	// MaxBatch is the most alerts in one request (default 100).
	MaxBatch int `yaml:"max_batch"`
}

// Defaults (the one source of them).
const (
	DefaultTimeout   = 10 * time.Second
	DefaultFiringTTL = 7 * 24 * time.Hour
	DefaultMaxBatch  = 100
)

// WithDefaults fills what is not set.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FiringTTL == 0 {
		c.FiringTTL = DefaultFiringTTL
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	return c
}

// Validate reports every problem at once; it never repeats the URL.
func (c Config) Validate() error {
	var errs []error
	if err := c.URL.CheckHTTP("Alertmanager's base URL, e.g. http://alertmanager:9093"); err != nil {
		errs = append(errs, err)
	}
	if !c.Password.IsZero() && c.Username == "" {
		errs = append(errs, errors.New("password: set username too (HTTP basic auth)"))
	}
	if c.Timeout < 0 || c.FiringTTL < 0 || c.MaxBatch < 0 {
		errs = append(errs, errors.New("timeout, firing_ttl and max_batch must not be negative"))
	}
	return errors.Join(errs...)
}

// Alert is one alert of Alertmanager's API v2 (postableAlert).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Receiver posts to one Alertmanager.
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
func (r *Receiver) Kind() string { return "alertmanager" }

// MaxBatch implements notify.Batcher.
func (r *Receiver) MaxBatch() int { return r.cfg.MaxBatch }

// Alerts turns notifications into Alertmanager alerts. The labels are what
// identifies an alert there, so they hold only values that stay the same
// from firing to resolved: alertname and rule (the rule id), severity,
// host, role, organization (the name when known, else the GUID;
// organization_id keeps the GUID) and alert_id. A change of severity is
// a new alert in Alertmanager, so the one with the previous severity is
// ended in the same request.
func Alerts(ns []notify.Notification, now time.Time, firingTTL time.Duration) []Alert {
	out := make([]Alert, 0, len(ns))
	for _, n := range ns {
		if n.PreviousSeverity != "" && n.PreviousSeverity != n.Alert.Severity {
			old := n
			old.Alert.Severity, old.Status, old.PreviousSeverity = n.PreviousSeverity, notify.StatusResolved, ""
			old.Alert.ResolvedAt = nil
			out = append(out, Alerts([]notify.Notification{old}, now, firingTTL)...)
		}
		a := n.Alert
		labels := map[string]string{"alertname": a.Rule, "rule": a.Rule, "severity": string(a.Severity), "alert_id": a.ID}
		setList(labels, "host", a.Hosts)
		setList(labels, "role", n.Roles)
		setList(labels, "organization_id", a.Organizations)
		orgs := slices.Clone(a.Organizations)
		for i := range orgs {
			if i < len(n.OrganizationNames) && n.OrganizationNames[i] != "" {
				orgs[i] = n.OrganizationNames[i]
			}
		}
		setList(labels, "organization", orgs)
		if n.Test {
			labels["test"] = "true"
		}
		ann := map[string]string{"summary": a.Summary}
		setText(ann, "cause", a.Knowledge.Cause)
		setText(ann, "resolution", a.Knowledge.Resolution)
		setText(ann, "console", n.ConsoleURL)
		x := Alert{Labels: labels, Annotations: ann, StartsAt: a.FirstSeen, EndsAt: now.Add(firingTTL), GeneratorURL: n.ConsoleURL}
		if x.StartsAt.IsZero() {
			x.StartsAt = n.At
		}
		if n.Status == notify.StatusResolved {
			x.EndsAt = now
			if a.ResolvedAt != nil && !a.ResolvedAt.Before(x.StartsAt) {
				x.EndsAt = *a.ResolvedAt
			}
		}
		out = append(out, x)
	}
	return out
}

func setList(m map[string]string, k string, vs []string) {
	if len(vs) > 0 {
		s := slices.Clone(vs)
		slices.Sort(s)
		m[k] = strings.Join(slices.Compact(s), ",")
	}
}

func setText(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// Notify implements notify.Receiver: 200 is accepted; 5xx, 429 and
// network errors may pass; 400 (Alertmanager refused the alerts) and other
// statuses do not.
func (r *Receiver) Notify(ctx context.Context, ns []notify.Notification) (bool, error) {
	body, err := json.Marshal(Alerts(ns, r.now().UTC(), r.cfg.FiringTTL))
	if err != nil {
		return false, fmt.Errorf("alertmanager %s: encode: %w", r.name, err)
	}
	u := strings.TrimSuffix(r.cfg.URL.Reveal(), "/") + "/api/v2/alerts"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("alertmanager %s: request to %s could not be built", r.name, r.cfg.URL)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmwatch-notify")
	if r.cfg.Username != "" {
		req.SetBasicAuth(r.cfg.Username, r.cfg.Password.Reveal())
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry credentials
		}
		return true, fmt.Errorf("alertmanager %s: POST %s: %w", r.name, r.cfg.URL, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	text := secret.Scrub(strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")), append(r.cfg.URL.Credentials(), r.cfg.Password)...)
	retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	return retry, fmt.Errorf("alertmanager %s: POST %s: %s: %q", r.name, r.cfg.URL, resp.Status, text)
}
