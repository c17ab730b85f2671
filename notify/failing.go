package notify

import (
	"context"
	"log/slog"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/rules"
	"crmwatch/store"
)

// RuleReceiverFailing is the rule of the alert about a receiver that keeps
// refusing notifications. Its alert names the receiver in
// Fields["instance"]; that receiver is never sent it (a receiver that
// refuses would only refuse it too, and count one more failure).
const RuleReceiverFailing = "crmwatch.notify.receiver-failing"

// FailingHost is the host of receiver health samples and so of the alert:
// crmwatch itself, not one of the farm's servers.
const FailingHost = "crmwatch"

// Failing says when a receiver keeps refusing: it refused at least
// Attempts sends in a row (retries count) and the first of them is at
// least For ago.
type Failing struct {
	Attempts int
	For      time.Duration
}

// DefaultFailing is the one source of the defaults: 3 attempts over a
// minute, well inside the default retry time (2m), so the NOC hears of a
// dead receiver while its notifications are still being retried.
func DefaultFailing() Failing { return Failing{Attempts: 3, For: time.Minute} }

// WithDefaults fills unset fields.
func (f Failing) WithDefaults() Failing {
	d := DefaultFailing()
	if f.Attempts <= 0 {
		f.Attempts = d.Attempts
	}
	if f.For <= 0 {
		f.For = d.For
	}
	return f
}

// Holds reports whether the streak h makes the receiver failing at now.
func (f Failing) Holds(h store.ReceiverHealth, now time.Time) bool {
	return h.Failures >= int64(f.Attempts) && now.Sub(h.FailingSince) >= f.For
}

// FailingCounter is the counter path of a receiver's health sample.
func FailingCounter(receiver string) string {
	return `\crmwatch Notifications(` + receiver + `)\Receiver Failing`
}

// FailingRule is the built-in rule that turns receiver health samples (1
// failing, 0 not) into one alert per receiver, resolved by the first 0.
// The server loads it with the packs' rules.
func FailingRule() rules.Rule {
	one := 1.0
	return rules.Rule{
		ID:          RuleReceiverFailing,
		Kind:        rules.KindThreshold,
		Description: "A notification receiver keeps refusing notifications.",
		Summary:     "Notification receiver {{.Instance}} keeps refusing notifications",
		Knowledge: alerts.Knowledge{
			Cause: "Every recent attempt to send notifications to this receiver failed (its peer is down, unreachable, " +
				"answers 5xx, or refuses the credentials). Notifications to it are retried and then recorded as failed: " +
				"`crmwatch alerts show ID` lists each with its error, and the server log names the receiver.",
			Resolution: "Fix the peer or the receiver's settings, then run `crmwatch notify test RECEIVER`; " +
				"this alert resolves at the first notification the receiver accepts.",
		},
		GroupBy:   []string{"instance"},
		Threshold: &rules.Threshold{Counter: FailingCounter("*"), Op: "ge", Levels: rules.Levels{Error: &one}},
	}
}

// healthKeepAlive is how often an unchanged health sample is fed again, so
// the threshold series never goes stale (rules drop a series after 15
// minutes of silence) and a failing receiver's alert stays open.
const healthKeepAlive = time.Minute

// HealthFeed turns the receivers' health in the store into samples for the
// rules engine. The evaluator calls Samples on its ticks and Reset at
// each term (the engine starts over then); it is not safe for concurrent
// use.
type HealthFeed struct {
	Log       store.NotificationLog
	Receivers []string
	Failing   Failing
	Logger    *slog.Logger
	last      map[string]fed
}

type fed struct {
	v  float64
	at time.Time
}

// Reset forgets what was fed: the next Samples feeds every receiver.
func (f *HealthFeed) Reset() { f.last = nil }

// Samples returns the health samples due at now: a receiver's whose
// verdict changed, and every receiver's once a minute. A store that cannot
// be read gives none (the samples come on a later tick).
func (f *HealthFeed) Samples(ctx context.Context, now time.Time) []event.Sample {
	if len(f.Receivers) == 0 {
		return nil
	}
	hs, err := f.Log.ReceiverHealth(ctx)
	if err != nil {
		if f.Logger != nil {
			f.Logger.Debug("receiver health not readable; trying again", "err", err)
		}
		return nil
	}
	failing := map[string]bool{}
	policy := f.Failing.WithDefaults()
	for _, h := range hs {
		failing[h.Receiver] = policy.Holds(h, now)
	}
	if f.last == nil {
		f.last = map[string]fed{}
	}
	var out []event.Sample
	for _, r := range f.Receivers {
		v := 0.0
		if failing[r] {
			v = 1
		}
		if l, ok := f.last[r]; ok && l.v == v && now.Sub(l.at) < healthKeepAlive {
			continue
		}
		f.last[r] = fed{v, now}
		out = append(out, event.Sample{Time: now, Host: FailingHost, Counter: FailingCounter(r), Value: v})
	}
	return out
}

// aboutItself reports whether ch is the alert about receiver name failing.
func aboutItself(ch *alerts.Committed, name string) bool {
	return ch.Alert.Rule == RuleReceiverFailing && ch.Alert.Fields["instance"] == name
}

// PruneLoop drops notification log entries older than keep every every
// (the first time at once), until ctx ends.
func PruneLoop(ctx context.Context, log store.NotificationLog, keep, every time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := log.PruneNotifications(ctx, time.Now().Add(-keep)); err != nil {
			if ctx.Err() == nil {
				logger.Warn("could not prune the notification log; trying again later", "err", err)
			}
		} else if n > 0 {
			logger.Info("pruned the notification log", "deliveries", n, "older_than", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DefaultLogRetention is how long deliveries stay in the notification log.
const DefaultLogRetention = 90 * 24 * time.Hour
