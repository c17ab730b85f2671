package server

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"crmwatch/agent"
	"crmwatch/api"
	"crmwatch/rules"
	"crmwatch/transport"
)

// watchAgents keeps the directory of agents current from the agents bucket
// and turns every live registration into an engine heartbeat (which resolves
// missing-agent alerts and teaches role filtering the host's roles).
func watchAgents(ctx context.Context, ag *transport.Agents, dir *transport.Directory, engine *rules.Engine, log *slog.Logger) error {
	return ag.Watch(ctx, func(r transport.Registration) {
		dir.Update(r)
		if r.Stopped {
			return
		}
		if err := engine.Heartbeat(ctx, r.Name, r.Roles, r.LastHeartbeat); err != nil && ctx.Err() == nil {
			log.Warn("heartbeat not stored; the engine sends it again with its next change", "agent", r.Name, "err", err)
		}
	}, nil)
}

// tick drives the engine's time-based rules (resolve-after, missing data,
// correlation windows) with the wall clock.
func tick(ctx context.Context, engine *rules.Engine, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			err := engine.Tick(ctx, now)
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				failing = true
				log.Warn("tick: alert changes not stored; kept and sent again", "err", err)
			case err == nil && failing:
				failing = false
				log.Info("tick: alert changes stored again")
			}
		}
	}
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
		if len(r.Roles) == 0 && !slices.Contains(a.Warnings, transport.WarningNoRoles) {
			a.Warnings = append([]string{transport.WarningNoRoles}, a.Warnings...)
		}
		out = append(out, a)
	}
	return out
}
