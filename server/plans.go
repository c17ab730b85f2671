package server

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/collectors"
	"crmwatch/dashboards"
	"crmwatch/event"
	"crmwatch/transport"
)

// setPlans keeps the collection plans of the loaded packs until they are
// published.
func (s *Server) setDashboards(ds []dashboards.Dashboard) {
	s.mu.Lock()
	s.dashboards = ds
	s.mu.Unlock()
}

// Dashboards are the loaded packs' dashboards (after overrides).
func (s *Server) Dashboards() []dashboards.Dashboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dashboards
}

func (s *Server) setPlans(p map[event.Role]collectors.Plan) {
	s.mu.Lock()
	s.plans = p
	s.mu.Unlock()
}

// startPlans binds the packs bucket and publishes the plans of the packs
// loaded at start. Agents watch the bucket and apply the plans of their
// roles; a reload publishes again (publishPlans).
func (s *Server) startPlans(ctx context.Context, js jetstream.JetStream) error {
	p, err := transport.OpenPlans(ctx, js, s.names)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.mu.Lock()
	s.planKV = p
	s.mu.Unlock()
	if _, err := s.publishPlans(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// publishPlans writes every role's plan that changed and returns how many
// it wrote.
func (s *Server) publishPlans(ctx context.Context) (int, error) {
	s.mu.Lock()
	kv, plans := s.planKV, s.plans
	s.mu.Unlock()
	if kv == nil {
		return 0, nil // not running yet
	}
	n := 0
	for _, r := range event.AllRoles() {
		wrote, err := kv.Put(ctx, r, plans[r])
		if err != nil {
			return n, fmt.Errorf("publish the collection plans: %w", err)
		}
		if wrote {
			n++
		}
	}
	if n > 0 {
		s.log.Info("collection plans published", "roles_changed", n)
	}
	return n, nil
}
