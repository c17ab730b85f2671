package server

import (
	"context"
	"log/slog"
	"time"

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
