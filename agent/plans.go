package agent

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/discovery"
	"crmwatch/event"
	"crmwatch/transport"
)

// planRetry is how long the watcher waits before opening the packs bucket
// again while the centre is down (or older than plans).
const planRetry = 5 * time.Second

// planWatch follows the per-role collection plans the server publishes in
// the packs bucket and, with --roles auto, the host's roles; on a change it
// applies the union of its roles' plans: MOM's "loading only the
// appropriate rule-sets", without a restart.
type planWatch struct {
	a    *Agent
	js   jetstream.JetStream
	sup  *supervisor
	kick func() // the registration changed

	mu    sync.Mutex
	plans map[event.Role]collectors.Plan
}

func (w *planWatch) run(ctx context.Context) error {
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	go w.follow(ctx, signal)
	var rediscover <-chan time.Time
	if w.a.spec.auto {
		t := time.NewTicker(w.a.o.RediscoverEvery)
		defer t.Stop()
		rediscover = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			w.reconcile(ctx)
		case <-rediscover:
			res := w.a.discover(ctx, w.a.currentConfigs())
			if !slices.Equal(res.Roles(), w.a.Roles().Roles()) {
				w.a.log.Info("roles changed", "roles", res.Roles(), "before", w.a.Roles().Roles())
				w.a.setRoles(res)
				w.reconcile(ctx)
				w.kick()
			}
		}
	}
}

// follow watches the bucket until ctx ends, reopening it while the centre
// is unreachable; every update of a plan signals.
func (w *planWatch) follow(ctx context.Context, signal func()) {
	failing := "" // the last reason logged: each new one is logged once
	for ctx.Err() == nil {
		err := transport.Explain(w.js.Conn(), w.watchOnce(ctx, signal))
		if ctx.Err() != nil {
			return
		}
		if err != nil && err.Error() != failing {
			failing = err.Error()
			w.a.log.Warn("cannot follow the packs' collection plans yet; retrying", "every", planRetry, "err", err)
		}
		t := time.NewTimer(planRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (w *planWatch) watchOnce(ctx context.Context, signal func()) error {
	plans, err := transport.OpenPlans(ctx, w.js, w.a.names)
	if err != nil {
		return err
	}
	return plans.Watch(ctx, func(r event.Role, p collectors.Plan) {
		w.mu.Lock()
		if w.plans == nil {
			w.plans = map[event.Role]collectors.Plan{}
		}
		w.plans[r] = p
		w.mu.Unlock()
		signal()
	}, signal)
}

// reconcile applies the union of the plans of the agent's roles. A plan
// this agent cannot use (a collector refuses the result) is logged and
// the running collectors stay.
func (w *planWatch) reconcile(ctx context.Context) {
	roles := w.a.Roles().Roles()
	w.mu.Lock()
	var ps []collectors.Plan
	for _, r := range roles {
		if p, ok := w.plans[r]; ok {
			ps = append(ps, p)
		}
	}
	w.mu.Unlock()
	merged := collectors.MergePlans(ps...)
	merged.Roles = roles
	w.a.mu.Lock()
	same := reflect.DeepEqual(merged, w.a.plan)
	w.a.mu.Unlock()
	if same || ctx.Err() != nil {
		return
	}
	configs, err := w.a.file.Configs(w.a.reg, merged)
	if err != nil {
		w.a.log.Error("the packs' collection plan for this host's roles is refused; the running collectors stay",
			"roles", roles, "packs", merged.Packs, "err", err)
		return
	}
	w.a.mu.Lock()
	w.a.plan, w.a.configs = merged, configs
	w.a.mu.Unlock()
	if err := w.sup.apply(configs, roles); err != nil {
		w.a.log.Error("applying the packs' collection plan", "err", err)
	}
	counters := 0
	for _, cs := range merged.Counters {
		counters += len(cs.Paths)
	}
	w.a.log.Info("collection plan applied", "roles", roles, "packs", merged.Packs, "counters", counters,
		"collectors", w.sup.types())
	w.kick()
}

// currentConfigs is what runs now (or is about to).
func (a *Agent) currentConfigs() map[string]collectors.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.configs
}

func (a *Agent) setRoles(r discovery.Result) {
	a.mu.Lock()
	a.roles = r
	a.mu.Unlock()
	for _, n := range r.Notes {
		a.log.Warn("role discovery", "note", n)
	}
}
