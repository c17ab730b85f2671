package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/event"
)

// planPrefix starts the keys of the per-role collection plans in the
// packs bucket: collect.AppServer, collect.SqlServer, …
const planPrefix = "collect."

// PlanKey is the packs-bucket key of role's plan.
func PlanKey(r event.Role) string { return planPrefix + string(r) }

// Plans is the packs bucket seen as one collection plan per CRM role: the
// server writes them (from the packs' collect: sections), agents watch the
// ones of their roles.
type Plans struct {
	kv jetstream.KeyValue
}

// OpenPlans binds the packs bucket (created by Setup).
func OpenPlans(ctx context.Context, js jetstream.JetStream, n Names) (*Plans, error) {
	kv, err := js.KeyValue(ctx, n.PacksBucket())
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w (is the crmwatch server running? it creates the bucket)", n.PacksBucket(), err)
	}
	return &Plans{kv: kv}, nil
}

// Put writes role's plan unless the bucket holds it already (so a server
// restart or an unchanged reload does not wake every agent). It reports
// whether it wrote.
func (p *Plans) Put(ctx context.Context, r event.Role, plan collectors.Plan) (bool, error) {
	data, err := json.Marshal(plan)
	if err != nil {
		return false, fmt.Errorf("encode plan of role %s: %w", r, err)
	}
	if cur, err := p.kv.Get(ctx, PlanKey(r)); err == nil && string(cur.Value()) == string(data) {
		return false, nil
	}
	if _, err := p.kv.Put(ctx, PlanKey(r), data); err != nil {
		return false, fmt.Errorf("write plan of role %s: %w", r, err)
	}
	return true, nil
}

// Watch calls fn with every role's plan present and every later change
// until ctx ends; initial reports once the current values were delivered.
// A deleted plan arrives as an empty one.
func (p *Plans) Watch(ctx context.Context, fn func(event.Role, collectors.Plan), initial func()) error {
	w, err := p.kv.Watch(ctx, planPrefix+"*")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch packs bucket: %w", err)
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
				return errors.New("packs bucket watch ended unexpectedly")
			}
			if e == nil {
				if initial != nil {
					initial()
				}
				continue
			}
			r, err := event.ParseRole(strings.TrimPrefix(e.Key(), planPrefix))
			if err != nil {
				continue // a role of a newer server: not ours to apply
			}
			var plan collectors.Plan
			if e.Operation() == jetstream.KeyValuePut {
				if err := json.Unmarshal(e.Value(), &plan); err != nil {
					continue // corrupt: keep what we have
				}
			}
			fn(r, plan)
		}
	}
}
