package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
)

// Registration is what an agent writes about itself in the agents bucket
// (key: SubjectToken(Name)); it rewrites it with a new LastHeartbeat every
// heartbeat interval.
type Registration struct {
	Name string `json:"name"`
	// Roles are the host's CRM roles; empty (never null) when the agent
	// has none, and Warnings then says so.
	Roles []string `json:"roles"`
	// RolesNone says the operator declared the host to have no CRM roles
	// (--roles none): no warning is due.
	RolesNone bool `json:"roles_none,omitempty"`
	// RoleFindings say how each role was found: configured, a Windows
	// service or registry key, a trace file's ServerRole header.
	RoleFindings []RoleFinding `json:"role_findings,omitempty"`
	// DiscoveryNotes are what role discovery could not read or use.
	DiscoveryNotes []string `json:"discovery_notes,omitempty"`
	// Packs are the packs whose collection plan the agent applies.
	Packs   []string `json:"packs,omitempty"`
	Version string   `json:"version"`
	OS      string   `json:"os,omitempty"`
	// Collectors are the collector types the agent runs.
	Collectors    []string  `json:"collectors,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// HeartbeatEvery tells the server how often to expect a heartbeat.
	HeartbeatEvery time.Duration `json:"heartbeat_every"`
	// Stopped is set when the agent shut down cleanly (not a failure).
	Stopped bool `json:"stopped,omitempty"`
	// Warnings are what the operator must fix for this agent to be useful
	// (WarningNoRoles, a trace directory that is missing, …).
	Warnings []string `json:"warnings,omitempty"`
	// Sources are the state of what the collectors read (trace folders).
	Sources []collectors.SourceStatus `json:"sources,omitempty"`
}

// WarningNoRoles is the warning of an agent with no roles (none given, none
// discovered).
const WarningNoRoles = "no roles: role-scoped rules cannot apply; pass --roles"

// RoleFinding is one role of an agent and how it was found.
type RoleFinding struct {
	Role string `json:"role"`
	How  string `json:"how"`
}

// Agents is the agents bucket.
type Agents struct {
	kv jetstream.KeyValue
}

// OpenAgents binds the agents bucket (created by Setup).
func OpenAgents(ctx context.Context, js jetstream.JetStream, n Names) (*Agents, error) {
	kv, err := js.KeyValue(ctx, n.AgentsBucket())
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w (is the crmwatch server running? it creates the bucket)", n.AgentsBucket(), err)
	}
	return &Agents{kv: kv}, nil
}

// Put writes r.
func (a *Agents) Put(ctx context.Context, r Registration) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode registration of %q: %w", r.Name, err)
	}
	if _, err := a.kv.Put(ctx, SubjectToken(r.Name), data); err != nil {
		return fmt.Errorf("write registration of %q: %w", r.Name, err)
	}
	return nil
}

// Watch calls fn for every registration present and every later change,
// until ctx ends; initial reports once the current values were delivered.
func (a *Agents) Watch(ctx context.Context, fn func(Registration), initial func()) error {
	w, err := a.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while the watch was being set up: a clean end
		}
		return fmt.Errorf("watch agents bucket: %w", err)
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
				return errors.New("agents bucket watch ended unexpectedly")
			}
			if e == nil {
				if initial != nil {
					initial()
				}
				continue
			}
			var r Registration
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				continue // a foreign or corrupt key must not stop the server
			}
			fn(r)
		}
	}
}

// Directory is the server's current view of registered agents, kept up to
// date from Watch.
type Directory struct {
	mu     sync.RWMutex
	agents map[string]Registration
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return &Directory{agents: make(map[string]Registration)} }

// Update records r.
func (d *Directory) Update(r Registration) {
	d.mu.Lock()
	d.agents[r.Name] = r
	d.mu.Unlock()
}

// List returns the registrations sorted by name.
func (d *Directory) List() []Registration {
	d.mu.RLock()
	out := make([]Registration, 0, len(d.agents))
	for _, r := range d.agents {
		out = append(out, r)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
