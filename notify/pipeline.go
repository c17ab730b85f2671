package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/store"
)

// Retry bounds how a refused send is tried again: waits from Initial
// doubling to Max, for at most For in all (then the notification is
// recorded failed).
type Retry struct {
	Initial time.Duration // default 500ms
	Max     time.Duration // default 30s
	For     time.Duration // default 2m
}

// DefaultRetry is the one source of the retry defaults.
func DefaultRetry() Retry {
	return Retry{Initial: 500 * time.Millisecond, Max: 30 * time.Second, For: 2 * time.Minute}
}

func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.Initial <= 0 {
		r.Initial = d.Initial
	}
	if r.Max <= 0 {
		r.Max = d.Max
	}
	if r.For <= 0 {
		r.For = d.For
	}
	return r
}

// OrgNamer names organizations (GUID → display name, "" when unknown).
type OrgNamer interface {
	Name(org string) string
}

// PipelineOptions wire one receiver's pipeline.
type PipelineOptions struct {
	Receiver Receiver
	Router   *Router
	Log      store.NotificationLog
	// Holder names this server in the log's claims.
	Holder string
	// Hosts gives hosts' roles and groups for routing (may be nil).
	Hosts suppress.HostInfo
	// OrgNames names organizations (may be nil).
	OrgNames OrgNamer
	// ConsoleURL is the base of alert links, e.g. https://crmwatch.example/
	// (a link is ConsoleURL + "alerts/" + ID); "" sends no link.
	ConsoleURL string
	Retry      Retry
	Metrics    *Metrics
	Logger     *slog.Logger
	Now        func() time.Time
}

// Pipeline runs the stages for one receiver.
type Pipeline struct {
	o PipelineOptions
	// failing is set while the receiver refuses, so the log gets one line
	// per change of state, not one per attempt.
	failing bool
}

// NewPipeline prepares a pipeline.
func NewPipeline(o PipelineOptions) *Pipeline {
	o.Retry = o.Retry.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics, _ = NewMetrics(nil)
	}
	o.Metrics.Init(o.Receiver.Name())
	o.Logger = o.Logger.With("receiver", o.Receiver.Name())
	return &Pipeline{o: o}
}

// ClaimTimeout is how old a claim still "sending" must be before another
// server takes it over: longer than any send with its retries.
func (p *Pipeline) ClaimTimeout() time.Duration { return p.o.Retry.For + p.o.Retry.Max + time.Minute }

// Process runs the changes (in stream order) through the stages. It
// returns an error only when the log could not be read or written: then
// nothing of this call was sent and the caller retries it later. wait is
// called while a refused send waits for its retry (the consumer tells
// JetStream the messages are still in progress).
func (p *Pipeline) Process(ctx context.Context, cs []alerts.Committed, wait func()) error {
	name := p.o.Receiver.Name()
	byseq := make(map[int64]*alerts.Committed, len(cs))
	repeat := make(map[int64]time.Duration, len(cs))
	var cands []store.NotifyCandidate
	for i := range cs {
		ch := &cs[i]
		every, routed := p.o.Router.Match(&ch.Alert, p.o.Hosts)[name] // route
		if !routed {
			continue
		}
		if aboutItself(ch, name) { // never through the receiver that fails
			p.o.Metrics.dropped.WithLabelValues(name, dropSelf).Inc()
			continue
		}
		if suppressed(ch) { // drop suppressed
			p.o.Metrics.dropped.WithLabelValues(name, dropSuppressed).Inc()
			continue
		}
		byseq[ch.Seq], repeat[ch.Seq] = ch, every
		cands = append(cands, store.NotifyCandidate{Seq: ch.Seq, Receiver: name, AlertID: ch.Alert.ID, Version: ch.Alert.Version, Kind: ch.Kind})
	}
	if len(cands) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// From the claim on, a stop does not cut the pass short: a claim
	// committed while its caller saw a cancellation would be left to the
	// takeover; the log and the receivers bound the time with their own
	// timeouts, and retries end at the stop.
	stopped := ctx
	ctx = context.WithoutCancel(ctx)
	now := p.o.Now()
	previous := make(map[int64]alerts.Severity)
	ds, busy, err := p.o.Log.ClaimNotifications(ctx, p.o.Holder, now.Add(-p.ClaimTimeout()), cands, // dedup and throttle
		func(prev store.NotifyState, c store.NotifyCandidate) store.NotifyVerdict {
			ch := byseq[c.Seq]
			if prev.Firing && prev.Severity != ch.Alert.Severity {
				previous[c.Seq] = prev.Severity
			}
			return Decide(prev, ch, now, repeat[c.Seq])
		})
	if err != nil {
		return err
	}
	if n := len(cands) - len(ds) - busy; n > 0 {
		p.o.Metrics.dropped.WithLabelValues(name, dropDeduplicated).Add(float64(n))
	}
	ns := make([]Notification, len(ds))
	for i, d := range ds {
		ns[i] = p.notification(byseq[d.Seq], Status(d.Status))
		ns[i].PreviousSeverity = previous[d.Seq]
	}
	max := 1
	if b, ok := p.o.Receiver.(Batcher); ok && b.MaxBatch() > 1 {
		max = b.MaxBatch()
	}
	for len(ds) > 0 {
		n := min(len(ds), max)
		attempts, serr := p.send(stopped, ns[:n], wait) // send with retry
		if err := p.record(stopped, ds[:n], attempts, serr); err != nil {
			return err
		}
		ds, ns = ds[n:], ns[n:]
	}
	if busy > 0 {
		return ErrBusy
	}
	return nil
}

// ErrBusy says some changes are being sent by another claim (another
// server, or this one before a stop cut its retries short); the caller
// hands them back for later, when that claim is finished or stale.
var ErrBusy = errors.New("notifications claimed by a send under way")

// notification builds what the receiver sends for a change.
func (p *Pipeline) notification(ch *alerts.Committed, st Status) Notification {
	n := Notification{ID: NotificationID(ch.Seq), Seq: ch.Seq, Kind: ch.Kind, Status: st, Alert: ch.Alert, At: ch.At}
	if p.o.OrgNames != nil {
		named := false
		names := make([]string, len(ch.Alert.Organizations))
		for i, o := range ch.Alert.Organizations {
			names[i] = p.o.OrgNames.Name(o)
			named = named || names[i] != ""
		}
		if named {
			n.OrganizationNames = names
		}
	}
	if p.o.Hosts != nil {
		for _, h := range ch.Alert.Hosts {
			for _, r := range p.o.Hosts.Roles(h) {
				if !containsFold(n.Roles, r) {
					n.Roles = append(n.Roles, r)
				}
			}
		}
	}
	n.ConsoleURL = AlertLink(p.o.ConsoleURL, ch.Alert.ID)
	return n
}

// AlertLink is the console link of an alert ("" without a console URL).
func AlertLink(console, id string) string {
	if console == "" {
		return ""
	}
	return strings.TrimSuffix(console, "/") + "/alerts/" + url.PathEscape(id)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// send tries until the receiver accepts, refuses for good, or the retry
// time is over; it returns the attempts made and the last error.
func (p *Pipeline) send(ctx context.Context, ns []Notification, wait func()) (int, error) {
	name := p.o.Receiver.Name()
	deadline := p.o.Now().Add(p.o.Retry.For)
	backoff := p.o.Retry.Initial
	for attempt := 1; ; attempt++ {
		start := time.Now()
		// An attempt under way finishes even when the server stops (the
		// receiver's own timeout bounds it), so a stop leaves no claim
		// behind that only a takeover could finish.
		retry, err := p.o.Receiver.Notify(context.WithoutCancel(ctx), ns)
		p.o.Metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		p.health(ctx, err)
		if err == nil {
			p.o.Metrics.sent.WithLabelValues(name).Add(float64(len(ns)))
			if p.failing {
				p.failing = false
				p.o.Logger.Info("receiver accepts notifications again")
			}
			return attempt, nil
		}
		if !retry || ctx.Err() != nil || p.o.Now().Add(backoff).After(deadline) {
			p.o.Metrics.failed.WithLabelValues(name).Add(float64(len(ns)))
			p.o.Logger.Error("notifications not delivered; recorded as failed", "notifications", len(ns), "attempts", attempt, "err", err)
			p.failing = true
			return attempt, err
		}
		if !p.failing {
			p.failing = true
			p.o.Logger.Warn("receiver refused notifications; retrying with backoff", "err", err)
		}
		p.o.Metrics.retried.WithLabelValues(name).Add(float64(len(ns)))
		if wait != nil {
			wait()
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(backoff*2, p.o.Retry.Max)
	}
}

// record writes the result to the log. A send cut short by a stop is left
// claimed: another server (or this one after its restart) takes it over
// once the claim is stale.
func (p *Pipeline) record(ctx context.Context, ds []store.Delivery, attempts int, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	done := p.o.Now()
	for i := range ds {
		ds[i].Attempts += attempts
		ds[i].DoneAt = &done
		ds[i].Result = store.DeliverySent
		if err != nil {
			ds[i].Result, ds[i].Error = store.DeliveryFailed, err.Error()
		}
	}
	if ferr := p.o.Log.FinishNotifications(context.WithoutCancel(ctx), ds); ferr != nil {
		return fmt.Errorf("receiver %s: %w", p.o.Receiver.Name(), ferr)
	}
	return nil
}

// health records the attempt in the receivers' shared health, from which
// the evaluator raises the alert about a receiver that keeps refusing. It
// is best effort: a store that cannot take it delays that alert, never a
// notification.
func (p *Pipeline) health(ctx context.Context, err error) {
	var text string
	if err != nil {
		text = err.Error()
	}
	if herr := p.o.Log.RecordSend(context.WithoutCancel(ctx), p.o.Receiver.Name(), err == nil, text, p.o.Now()); herr != nil {
		p.o.Logger.Debug("receiver health not recorded", "err", herr)
	}
}
