package tracectl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

// Keys of the trace-settings bucket. Names are reduced to one KV token the
// way agent keys are (transport.SubjectToken); the real name travels in
// the value.
//
//	target.farm | target.role.<r> | target.group.<g> | target.host.<h>   settings (server)
//	desired.<h>                                                      resolved per agent (server)
//	applied.<h>                                                      acknowledgements (agent)
//	audited.<h>                                                      last audited agent event (server)
const (
	prefixTarget  = "target."
	prefixDesired = "desired."
	prefixApplied = "applied."
	prefixAudited = "audited."
)

// TargetKey is the bucket key of a target's setting.
func TargetKey(t settings.Target) string {
	if t.Scope == settings.ScopeFarm {
		return prefixTarget + string(settings.ScopeFarm)
	}
	return prefixTarget + string(t.Scope) + "." + transport.SubjectToken(strings.ToLower(t.Name))
}

// DesiredKey is the key the server writes host's resolved setting under;
// the agent of host reads only this key.
func DesiredKey(host string) string { return prefixDesired + transport.SubjectToken(host) }

// AppliedKey is the key the agent of host acknowledges under.
func AppliedKey(host string) string { return prefixApplied + transport.SubjectToken(host) }

func auditedKey(host string) string { return prefixAudited + transport.SubjectToken(host) }

// Bucket is the trace-settings key-value bucket (created by transport.Setup).
type Bucket struct {
	kv jetstream.KeyValue
}

// OpenBucket binds the bucket; it fails while the server has not created
// it yet (callers retry).
func OpenBucket(ctx context.Context, js jetstream.JetStream, n transport.Names) (*Bucket, error) {
	kv, err := js.KeyValue(ctx, n.TraceSettingsBucket())
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w (is the crmwatch server running? it creates the bucket)", n.TraceSettingsBucket(), err)
	}
	return &Bucket{kv: kv}, nil
}

func (b *Bucket) put(ctx context.Context, key string, v any) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	rev, err := b.kv.Put(ctx, key, data)
	if err != nil {
		return 0, fmt.Errorf("write %s to the trace-settings bucket: %w", key, err)
	}
	return rev, nil
}

// get decodes key into v; found is false for a missing or deleted key.
func (b *Bucket) get(ctx context.Context, key string, v any) (found bool, rev uint64, err error) {
	e, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("read %s from the trace-settings bucket: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, e.Revision(), fmt.Errorf("decode %s: %w", key, err)
	}
	return true, e.Revision(), nil
}

// PutSetting stores s under its target's key and returns the revision.
func (b *Bucket) PutSetting(ctx context.Context, s settings.Setting) (uint64, error) {
	return b.put(ctx, TargetKey(s.Target), s)
}

// DeleteSetting removes t's setting; with rev > 0 only if it is still at
// that revision (so of two servers expiring it, one wins).
func (b *Bucket) DeleteSetting(ctx context.Context, t settings.Target, rev uint64) error {
	var opts []jetstream.KVDeleteOpt
	if rev > 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := b.kv.Delete(ctx, TargetKey(t), opts...); err != nil {
		return fmt.Errorf("delete the %s trace setting: %w", t, err)
	}
	return nil
}

// PutDesired writes the setting one agent should hold.
func (b *Bucket) PutDesired(ctx context.Context, d settings.Desired) error {
	_, err := b.put(ctx, DesiredKey(d.Host), d)
	return err
}

// Desired reads host's desired setting; a missing key is "none".
func (b *Bucket) Desired(ctx context.Context, host string) (settings.Desired, error) {
	d := settings.Desired{Host: host}
	_, _, err := b.get(ctx, DesiredKey(host), &d)
	return d, err
}

// PutApplied writes an agent's acknowledgement.
func (b *Bucket) PutApplied(ctx context.Context, a settings.Applied) error {
	_, err := b.put(ctx, AppliedKey(a.Host), a)
	return err
}

// Entry is one decoded change seen by Watch: exactly one of the value
// fields is set, or Deleted for a removed key.
type Entry struct {
	Key      string
	Revision uint64
	Deleted  bool
	Setting  *settings.Setting
	Desired  *settings.Desired
	Applied  *settings.Applied
}

// Watch calls fn for every current value under the key pattern and every
// later change until ctx ends or the watch fails; initial (optional) runs
// once the current values were delivered. Undecodable values are skipped
// and counted by the caller's bad callback (optional).
func (b *Bucket) Watch(ctx context.Context, pattern string, fn func(Entry), initial func(), bad func(key string, err error)) error {
	w, err := b.kv.Watch(ctx, pattern)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch %s in the trace-settings bucket: %w", pattern, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch %s in the trace-settings bucket ended", pattern)
			}
			if e == nil {
				if initial != nil {
					initial()
				}
				continue
			}
			ent, err := decodeEntry(e)
			if err != nil {
				if bad != nil {
					bad(e.Key(), err)
				}
				continue
			}
			fn(ent)
		}
	}
}

func decodeEntry(e jetstream.KeyValueEntry) (Entry, error) {
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		return Entry{Key: e.Key(), Revision: e.Revision(), Deleted: true}, nil
	}
	ent, err := decodeValue(e.Key(), e.Value())
	ent.Revision = e.Revision()
	return ent, err
}

// decodeValue decodes a value by the kind of its key.
func decodeValue(key string, data []byte) (Entry, error) {
	ent := Entry{Key: key}
	var target any
	switch {
	case strings.HasPrefix(ent.Key, prefixTarget):
		ent.Setting = &settings.Setting{}
		target = ent.Setting
	case strings.HasPrefix(ent.Key, prefixDesired):
		ent.Desired = &settings.Desired{}
		target = ent.Desired
	case strings.HasPrefix(ent.Key, prefixApplied):
		ent.Applied = &settings.Applied{}
		target = ent.Applied
	default:
		return ent, fmt.Errorf("key %s: not a trace-settings key", ent.Key)
	}
	if err := json.Unmarshal(data, target); err != nil {
		return ent, fmt.Errorf("key %s: %w", ent.Key, err)
	}
	return ent, nil
}

// claimEvents returns the events newer than the last one audited for
// host and records the newest as audited; nothing when another server
// claimed them first. The claim is a compare-and-set on audited.<host>.
func (b *Bucket) claimEvents(ctx context.Context, host string, evs []settings.AgentEvent) ([]settings.AgentEvent, error) {
	key := auditedKey(host)
	var last time.Time
	var rev uint64
	e, err := b.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", key, err)
	default:
		rev = e.Revision()
		if err := last.UnmarshalText(e.Value()); err != nil {
			return nil, fmt.Errorf("%s holds %q, not a time: %w", key, e.Value(), err)
		}
	}
	var fresh []settings.AgentEvent
	newest := last
	for _, ev := range evs {
		if ev.At.After(last) {
			fresh = append(fresh, ev)
			if ev.At.After(newest) {
				newest = ev.At
			}
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	val, _ := newest.UTC().MarshalText() // a valid time always marshals
	if rev == 0 {
		_, err = b.kv.Create(ctx, key, val)
	} else {
		_, err = b.kv.Update(ctx, key, val, rev)
	}
	if err != nil {
		var jerr jetstream.JetStreamError
		if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &jerr) && jerr.APIError() != nil && jerr.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return nil, nil // another server claimed them first
		}
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	return fresh, nil
}
