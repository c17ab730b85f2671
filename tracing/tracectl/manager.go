package tracectl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/run"

	"crmwatch/store"
	"crmwatch/tracing/settings"
	"crmwatch/transport"
)

// Auditor is the part of the store the manager writes to.
type Auditor interface {
	Audit(ctx context.Context, e store.AuditEntry) error
}

// ManagerOptions configure the server side of trace control.
type ManagerOptions struct {
	JS    jetstream.JetStream
	Names transport.Names
	// Audit receives every set, clear, expiry and guard trip (required).
	Audit Auditor
	// Groups returns the server groups (name → host names) the overrides
	// files define; nil means there are none.
	Groups func() map[string][]string
	// CheckRole returns a role's canonical name or an error naming the
	// valid ones; nil accepts any name.
	CheckRole func(string) (string, error)
	// ExpireEvery is how often expired settings are removed (default 1s).
	ExpireEvery time.Duration
	Logger      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Manager keeps the operators' trace settings, resolves each agent's
// desired setting, audits every change and reports per-agent status.
type Manager struct {
	o     ManagerOptions
	log   *slog.Logger
	ready chan struct{}

	bucket *Bucket

	mu       sync.Mutex
	settings map[string]storedSetting          // by bucket key
	agents   map[string]transport.Registration // by host name
	desired  map[string]settings.Desired       // by host name
	applied  map[string]settings.Applied       // by host name

	writeMu sync.Mutex // one desired-key writer at a time
	kick    chan struct{}
}

type storedSetting struct {
	settings.Setting
	rev uint64
}

// NewManager checks the options; Run starts it.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.JS == nil || o.Audit == nil {
		return nil, errors.New("trace control: the manager needs JetStream and an audit log")
	}
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Groups == nil {
		o.Groups = func() map[string][]string { return nil }
	}
	return &Manager{o: o, log: o.Logger.With("component", "tracectl"), ready: make(chan struct{}),
		settings: map[string]storedSetting{}, agents: map[string]transport.Registration{},
		desired: map[string]settings.Desired{}, applied: map[string]settings.Applied{}, kick: make(chan struct{}, 1)}, nil
}

// Run watches agents, settings, desired and applied keys, keeps desired
// keys resolved and removes expired settings, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	b, err := OpenBucket(ctx, m.o.JS, m.o.Names)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean end
		}
		return err
	}
	ag, err := transport.OpenAgents(ctx, m.o.JS, m.o.Names)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	m.mu.Lock()
	m.bucket = b
	m.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { wg.Wait(); close(m.ready); m.kickRecompute() }()
	once := func() func() {
		var o sync.Once
		return func() { o.Do(wg.Done) }
	}
	var g run.Group
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bad := func(key string, err error) {
		m.log.Warn("undecodable trace-settings key ignored", "key", key, "err", err)
	}
	g.Add(func() error { <-rctx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error { return ag.Watch(rctx, m.onAgent, once()) }, func(error) { cancel() })
	g.Add(func() error { return b.Watch(rctx, prefixTarget+">", m.onSetting, once(), bad) }, func(error) { cancel() })
	g.Add(func() error { return b.Watch(rctx, prefixDesired+">", m.onDesired, once(), bad) }, func(error) { cancel() })
	g.Add(func() error {
		return b.Watch(rctx, prefixApplied+">", func(e Entry) { m.onApplied(rctx, e) }, once(), bad)
	}, func(error) { cancel() })
	g.Add(func() error { return m.recomputeLoop(rctx) }, func(error) { cancel() })
	g.Add(func() error { return m.expireLoop(rctx) }, func(error) { cancel() })
	return g.Run()
}

// Ready is closed once the current settings, agents and acknowledgements
// are loaded.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

func (m *Manager) waitReady(ctx context.Context) error {
	select {
	case <-m.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("trace control is still loading: %w", ctx.Err())
	}
}

func (m *Manager) onAgent(r transport.Registration) {
	m.mu.Lock()
	old, known := m.agents[r.Name]
	m.agents[r.Name] = r
	m.mu.Unlock()
	if !known || strings.Join(old.Roles, ",") != strings.Join(r.Roles, ",") {
		m.kickRecompute()
	}
}

func (m *Manager) onSetting(e Entry) {
	m.mu.Lock()
	if e.Deleted {
		delete(m.settings, e.Key)
	} else {
		m.settings[e.Key] = storedSetting{Setting: *e.Setting, rev: e.Revision}
	}
	m.mu.Unlock()
	m.kickRecompute()
}

func (m *Manager) onDesired(e Entry) {
	if e.Deleted || e.Desired == nil {
		return
	}
	m.mu.Lock()
	m.desired[e.Desired.Host] = *e.Desired
	m.mu.Unlock()
}

func (m *Manager) kickRecompute() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) recomputeLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
			select {
			case <-m.ready:
			default:
				continue // the first full load kicks again
			}
			if err := m.recompute(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("desired trace settings not all written; retrying with the next change", "err", err)
			}
		}
	}
}

// recompute resolves every known agent's setting and writes the desired
// keys that changed.
func (m *Manager) recompute(ctx context.Context) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	now := m.o.Now()
	m.mu.Lock()
	all := m.settingsLocked()
	groups := m.o.Groups()
	var changed []settings.Desired
	for host, r := range m.agents {
		eff := settings.Resolve(all, member(r, groups), now)
		cur, ok := m.desired[host]
		if ok && sameSetting(cur.Setting, eff) {
			continue
		}
		changed = append(changed, settings.Desired{Host: host, Setting: eff, UpdatedAt: now.UTC()})
	}
	m.mu.Unlock()
	var errs []error
	for _, d := range changed {
		if err := m.bucket.PutDesired(ctx, d); err != nil {
			errs = append(errs, err)
			continue
		}
		m.mu.Lock()
		m.desired[d.Host] = d
		m.mu.Unlock()
	}
	return errors.Join(errs...)
}

func sameSetting(a, b *settings.Setting) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func (m *Manager) settingsLocked() []settings.Setting {
	out := make([]settings.Setting, 0, len(m.settings))
	for _, s := range m.settings {
		out = append(out, s.Setting)
	}
	return out
}

// member describes an agent for target matching; its groups are the
// overrides groups that list its host name.
func member(r transport.Registration, groups map[string][]string) settings.Member {
	return settings.Member{Host: r.Name, Roles: r.Roles, Groups: groupsOf(r.Name, groups)}
}

func groupsOf(host string, groups map[string][]string) []string {
	var out []string
	for g, hosts := range groups {
		for _, h := range hosts {
			if strings.EqualFold(h, host) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// Regroup re-resolves every agent after the server groups changed (an
// overrides reload).
func (m *Manager) Regroup() { m.kickRecompute() }
