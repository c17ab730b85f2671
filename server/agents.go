package server

import (
	"context"

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
