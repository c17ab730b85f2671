package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/store"
)

// apiHandler builds the HTTP API over the store, the agent directory and
// the metrics registry. It keeps no state of its own, so any server can
// answer: operator actions go to the store (serialised per alert there),
// their committed changes to the change publisher, and a new maintenance
// window or silence nudges whichever server evaluates.
func (s *Server) apiHandler(st store.Store, pub *changePublisher, nc *nats.Conn, reg *prometheus.Registry) (http.Handler, error) {
	h, err := api.New(api.Options{
		Store:     st,
		Agents:    api.AgentListerFunc(s.listAgents),
		Committed: func(_ context.Context, cs []alerts.Committed) { pub.enqueue(cs) },
		SuppressionsChanged: func() {
			_ = nc.Publish(s.names.ControlSubject(topicSuppressions), nil)
		},
		OrgNames: s.orgNames, // nil names nothing
		Logger:   s.o.Logger.With("component", "api"),
		Registry: reg,
		Routes: slices.Concat([]api.Route{{Method: "POST", Pattern: ReloadPath, Permission: access.PermAdmin, Handler: s.reloadRoute()},
			capacityRoute(st.(report.Source))}, s.trace.Routes(), s.enrollRoutes(st), s.notifier.routes()),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return h, nil
}

// Control topics between servers.
const (
	topicSuppressions = "suppressions"
	topicReload       = "reload"
)

// reloadNotice tells the other servers that one reloaded its packs.
type reloadNotice struct {
	From string `json:"from"`
	By   string `json:"by"`
}

// subscribeReloads reloads this server's packs when another server did,
// so a pack reload through any server's API reaches the evaluator too.
func (s *Server) subscribeReloads(ctx context.Context, nc *nats.Conn, self string) (*nats.Subscription, error) {
	subject := s.names.ControlSubject(topicReload)
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var n reloadNotice
		if json.Unmarshal(m.Data, &n) != nil || n.From == self {
			return
		}
		if _, err := s.reload(ctx, n.By+" (via "+n.From+")", false); err != nil {
			s.log.Error("another server reloaded its packs; this server's reload was refused and its running rules stay", "from", n.From, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("server: subscribe to control messages: %w", err)
	}
	s.mu.Lock()
	s.tellPeers = func(by string) {
		data, _ := json.Marshal(reloadNotice{From: self, By: by})
		_ = nc.Publish(subject, data)
	}
	s.mu.Unlock()
	return sub, nil
}

// subscribeNudges wakes the evaluator when another server (or this one)
// changed the maintenance windows or silences.
func (s *Server) subscribeNudges(nc *nats.Conn, ev *evaluator) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(s.names.ControlSubject(topicSuppressions), func(*nats.Msg) {
		select {
		case ev.nudge <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("server: subscribe to control messages: %w", err)
	}
	return sub, nil
}
