package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamLimits bound what JetStream keeps. Streams are work queues for the
// server, so these only matter while no server consumes (centre down, or
// slower than the farm).
type StreamLimits struct {
	// MaxAge drops batches older than this (default 7 days).
	MaxAge time.Duration
	// MaxBytes caps each stream (default 1 GiB; -1 unlimited).
	MaxBytes int64
	// Duplicates is the Nats-Msg-Id dedup window; it must cover the longest
	// time an agent retries one publish (default 10m).
	Duplicates time.Duration
	// Replicas for clustered NATS (default 1).
	Replicas int
	// LeaseTTL is how long the evaluator lease outlives its last renewal:
	// the longest a crashed evaluator's role stays vacant (default 10s).
	LeaseTTL time.Duration
}

// DefaultStreamLimits returns the defaults (the one source of them).
func DefaultStreamLimits() StreamLimits {
	return StreamLimits{MaxAge: 7 * 24 * time.Hour, MaxBytes: 1 << 30, Duplicates: 10 * time.Minute, Replicas: 1, LeaseTTL: 10 * time.Second}
}

func (l StreamLimits) withDefaults() StreamLimits {
	d := DefaultStreamLimits()
	if l.MaxAge <= 0 {
		l.MaxAge = d.MaxAge
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.Duplicates <= 0 {
		l.Duplicates = d.Duplicates
	}
	if l.Replicas <= 0 {
		l.Replicas = d.Replicas
	}
	if l.LeaseTTL <= 0 {
		l.LeaseTTL = d.LeaseTTL
	}
	return l
}

// StreamConfigs returns the events and samples stream configurations.
func StreamConfigs(n Names, l StreamLimits) []jetstream.StreamConfig {
	l = l.withDefaults()
	mk := func(name, subject, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      l.MaxAge,
			MaxBytes:    l.MaxBytes,
			Duplicates:  l.Duplicates,
			Replicas:    l.Replicas,
		}
	}
	return []jetstream.StreamConfig{
		mk(n.EventsStream(), n.EventsFilter(), "crmwatch events from agents (trace records, event log, traps)"),
		mk(n.SamplesStream(), n.SamplesFilter(), "crmwatch performance-counter samples from agents"),
		mk(n.ChangesStream(), n.ChangesSubject(), "crmwatch committed alert changes, for notifiers and consoles"),
	}
}

// BucketConfigs returns the key-value buckets. History 1 except trace
// settings, whose previous values the audit view shows.
func BucketConfigs(n Names, l StreamLimits) []jetstream.KeyValueConfig {
	l = l.withDefaults()
	replicas := l.Replicas
	return []jetstream.KeyValueConfig{
		{Bucket: n.AgentsBucket(), Description: "crmwatch agent registrations and heartbeats", History: 1, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: n.TraceSettingsBucket(), Description: "crmwatch trace settings: desired and applied per agent", History: 10, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: n.PacksBucket(), Description: "crmwatch packs distributed to agents", History: 5, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: n.EvaluatorBucket(), Description: "crmwatch evaluator lease (which server evaluates rules)", History: 1,
			TTL: l.LeaseTTL, Storage: jetstream.FileStorage, Replicas: replicas},
	}
}

// Setup creates the streams and buckets, or updates them to the wanted
// configuration; it is idempotent, so every server instance runs it at start.
func Setup(ctx context.Context, js jetstream.JetStream, n Names, l StreamLimits) error {
	for _, sc := range StreamConfigs(n, l) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return streamSetupError(sc, err)
		}
	}
	for _, kc := range BucketConfigs(n, l) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return fmt.Errorf("create key-value bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// jsInsufficientResources is JetStream's "insufficient storage resources
// available" (10047): the server reserves each stream's MaxBytes from its
// storage budget (by default 75 % of the disk free when it started).
const jsInsufficientResources jetstream.ErrorCode = 10047

// streamSetupError says what to do about the two failures an operator can
// fix: no JetStream for the account, and a storage budget smaller than the
// reservations.
func streamSetupError(sc jetstream.StreamConfig, err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case jsInsufficientResources:
			return fmt.Errorf("create stream %s: %w: JetStream cannot reserve %s for it (each of the %d streams reserves its size limit); "+
				"free disk on the NATS server, raise its max_file_store, or lower --stream-max-bytes", sc.Name, err, sizeText(sc.MaxBytes), len(StreamConfigs(Names{}, StreamLimits{})))
		case jetstream.JSErrCodeJetStreamNotEnabledForAccount, jetstream.JSErrCodeJetStreamNotEnabled:
			return fmt.Errorf("create stream %s: %w: start nats-server with -js (JetStream) or enable JetStream for the account crmwatch connects as", sc.Name, err)
		}
	}
	return fmt.Errorf("create stream %s: %w", sc.Name, err)
}

// sizeText is "1 GiB", "64 MiB" or "123 bytes".
func sizeText(n int64) string {
	switch {
	case n < 0:
		return "no limit"
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Teardown deletes the streams and buckets of n. Tests against a shared
// NATS use it to clean up after themselves.
func Teardown(ctx context.Context, js jetstream.JetStream, n Names) error {
	var first error
	for _, sc := range StreamConfigs(n, StreamLimits{}) {
		if err := js.DeleteStream(ctx, sc.Name); err != nil && first == nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			first = fmt.Errorf("delete stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range BucketConfigs(n, StreamLimits{}) {
		if err := js.DeleteKeyValue(ctx, kc.Bucket); err != nil && first == nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			first = fmt.Errorf("delete bucket %s: %w", kc.Bucket, err)
		}
	}
	return first
}
