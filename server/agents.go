package server

import (
	"context"
	"slices"
	"time"

	"crmwatch/agent"
	"crmwatch/api"
	"crmwatch/transport"
)

// watchAgents keeps the directory of agents current from the agents bucket
// (every server, for the API) and queues each registration for the
// evaluator (missing-agent rules, role filtering), which takes them when
// this server evaluates.
func watchAgents(ctx context.Context, ag *transport.Agents, dir *transport.Directory, beats *beatQueue) error {
	return ag.Watch(ctx, func(r transport.Registration) {
		dir.Update(r)
		beats.put(r)
	}, nil)
}

// silentAfter is how many heartbeat intervals without one make an agent
// "silent" in GET /api/v1/agents.
const silentAfter = 3

// listAgents serves GET /api/v1/agents: each registration with its status
// and what the operator must fix. The no-roles warning is added here too,
// for agents of versions that do not send it.
func (s *Server) listAgents(context.Context) ([]api.AgentInfo, error) {
	return agentInfos(s.agents.List(), time.Now()), nil
}

func agentInfos(regs []transport.Registration, now time.Time) []api.AgentInfo {
	out := make([]api.AgentInfo, 0, len(regs))
	for _, r := range regs {
		a := api.AgentInfo{Host: r.Name, Status: api.AgentUp, Roles: r.Roles, Version: r.Version, Collectors: r.Collectors,
			StartedAt: r.StartedAt, LastHeartbeat: r.LastHeartbeat, Warnings: slices.Clone(r.Warnings), Sources: r.Sources,
			DiscoveryNotes: r.DiscoveryNotes, Packs: r.Packs}
		for _, f := range r.RoleFindings {
			a.RoleFindings = append(a.RoleFindings, api.RoleFinding{Role: f.Role, How: f.How})
		}
		every := r.HeartbeatEvery
		if every <= 0 {
			every = agent.DefaultHeartbeat
		}
		switch {
		case r.Stopped:
			a.Status = api.AgentStopped
		case now.Sub(r.LastHeartbeat) > silentAfter*every:
			a.Status = api.AgentSilent
		}
		if len(r.Roles) == 0 && !r.RolesNone && !slices.Contains(a.Warnings, transport.WarningNoRoles) {
			a.Warnings = append([]string{transport.WarningNoRoles}, a.Warnings...)
		}
		out = append(out, a)
	}
	return out
}
