package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseLost is returned by Hold when another server took the lease.
var ErrLeaseLost = errors.New("evaluator lease lost")

const leaseKey = "evaluator"

// Lease elects the one server that evaluates rules. The lease is a key in
// the evaluator bucket, whose TTL (StreamLimits.LeaseTTL) removes it when
// its holder stops renewing, measured by the NATS server's clock, so no two
// servers' clocks are compared. Each acquisition gets a new epoch (the
// key's revision), which the store uses as a fencing token: a holder that
// paused past its TTL can no longer commit.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	ttl    time.Duration
	rev    uint64
	log    *slog.Logger
}

// LeaseHolder is the value of the lease key.
type LeaseHolder struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

// OpenLease binds the evaluator bucket (created by Setup). holder names
// this process uniquely (host, pid and a random part); ttl is the bucket's.
func OpenLease(ctx context.Context, js jetstream.JetStream, n Names, holder string, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	return OpenNamedLease(ctx, js, n, leaseKey, holder, ttl, log)
}

// OpenNamedLease is OpenLease for another role elected the same way (for
// example "rollup", the capacity rollup consumer): key is its key in the
// evaluator bucket, so it has its own holder and epochs.
func OpenNamedLease(ctx context.Context, js jetstream.JetStream, n Names, key, holder string, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	kv, err := js.KeyValue(ctx, n.EvaluatorBucket())
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", n.EvaluatorBucket(), err)
	}
	if ttl <= 0 {
		ttl = DefaultStreamLimits().LeaseTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{kv: kv, key: key, holder: holder, ttl: ttl, log: log}, nil
}

// Holder returns who holds the lease now ("" when nobody does).
func (l *Lease) Holder(ctx context.Context) (LeaseHolder, error) {
	e, err := l.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return LeaseHolder{}, nil
	}
	if err != nil {
		return LeaseHolder{}, err
	}
	var h LeaseHolder
	_ = json.Unmarshal(e.Value(), &h)
	return h, nil
}

// Acquire blocks until this server holds the lease, then returns its
// epoch; it tries again every quarter TTL while another server holds it.
func (l *Lease) Acquire(ctx context.Context) (uint64, error) {
	val, _ := json.Marshal(LeaseHolder{Holder: l.holder, Since: time.Now().UTC()})
	logged := false
	for {
		rev, err := l.kv.Create(ctx, l.key, val)
		if err == nil {
			l.rev = rev
			return rev, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if !logged && errors.Is(err, jetstream.ErrKeyExists) {
			if h, herr := l.Holder(ctx); herr == nil && h.Holder != "" {
				l.log.Info("another server evaluates rules; standing by", "evaluator", h.Holder)
				logged = true
			}
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			l.log.Debug("evaluator lease: create failed; retrying", "err", err)
		}
		t := time.NewTimer(l.ttl / 4)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// Hold renews the lease every third of its TTL until ctx ends (then it
// returns nil) or the lease is lost: another server holds it, or no renewal
// succeeded for a whole TTL (the key may have expired and been taken).
func (l *Lease) Hold(ctx context.Context) error {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	last := time.Now()
	val, _ := json.Marshal(LeaseHolder{Holder: l.holder, Since: time.Now().UTC()})
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, l.ttl/3)
		rev, err := l.kv.Update(rctx, l.key, val, l.rev)
		cancel()
		switch {
		case err == nil:
			l.rev, last = rev, time.Now()
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyNotFound):
			return fmt.Errorf("%w: %v", ErrLeaseLost, err)
		case time.Since(last) >= l.ttl:
			return fmt.Errorf("%w: no renewal for %s: %v", ErrLeaseLost, l.ttl, err)
		}
	}
}

// Release gives the lease up at once (a clean stop), so a standby takes
// over without waiting for the TTL.
func (l *Lease) Release(ctx context.Context) {
	if l.rev == 0 {
		return
	}
	_ = l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
	l.rev = 0
}
