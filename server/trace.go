package server

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/event"
	"crmwatch/store"
	"crmwatch/tracing/tracectl"
)

// newTraceManager builds remote trace control over the trace-settings
// bucket: settings resolved per agent, the server groups of the overrides
// files as targets, every change in the store's audit log.
func (s *Server) newTraceManager(js jetstream.JetStream, st store.Store) (*tracectl.Manager, error) {
	m, err := tracectl.NewManager(tracectl.ManagerOptions{
		JS: js, Names: s.names, Audit: st, Groups: s.serverGroups, CheckRole: checkRole,
		Logger: s.o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return m, nil
}

// checkRole accepts one CRM role name in any case and returns CRM's
// spelling.
func checkRole(name string) (string, error) {
	roles, err := event.ParseRoles(name)
	if err != nil {
		return "", err
	}
	if len(roles) != 1 {
		return "", fmt.Errorf("give exactly one role (valid: %s)", strings.Join(event.RoleNames(), ", "))
	}
	return string(roles[0]), nil
}

// serverGroups are the groups of the loaded overrides files.
func (s *Server) serverGroups() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups
}

// setGroups publishes newly loaded groups and has trace control resolve
// every agent again.
func (s *Server) setGroups(g map[string][]string) {
	s.mu.Lock()
	s.groups = g
	tm := s.trace
	s.mu.Unlock()
	if tm != nil {
		tm.Regroup()
	}
}
