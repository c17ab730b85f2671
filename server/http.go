package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/console"
	"crmwatch/dashboards/history"
	"crmwatch/store"
	"crmwatch/transport"
)

// apiHandler builds the HTTP API over the store, the agent directory and
// the metrics registry. It keeps no state of its own, so any server can
// answer: operator actions go to the store (serialised per alert there),
// their committed changes to the change publisher, and a new maintenance
// window or silence nudges whichever server evaluates.
func (s *Server) apiHandler(st store.Store, pub *changePublisher, nc *nats.Conn, js jetstream.JetStream, reg *prometheus.Registry) (http.Handler, error) {
	logger := s.o.Logger.With("component", "api")
	auth := access.NewAuthenticator(st, logger).AcceptSessions(st, nil)
	s.recorder = history.NewRecorder(reg, time.Minute, nil)
	h, err := api.New(api.Options{
		Auth:      auth,
		Store:     st,
		Agents:    api.AgentListerFunc(s.listAgents),
		Committed: func(_ context.Context, cs []alerts.Committed) { pub.enqueue(cs) },
		SuppressionsChanged: func() {
			_ = nc.Publish(s.names.ControlSubject(topicSuppressions), nil)
		},
		OrgNames: s.orgNames, // nil names nothing
		Logger:   logger,
		Registry: reg,
		Routes: slices.Concat([]api.Route{{Method: "POST", Pattern: ReloadPath, Permission: access.PermAdmin, Handler: s.reloadRoute()},
			capacityRoute(st.(report.Source))}, s.trace.Routes(), s.enrollRoutes(st), s.notifier.routes(),
			history.Routes(history.Options{Dashboards: s.Dashboards, Source: st.(history.Source), Server: s.recorder, Logger: logger})),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	c, err := console.New(console.Options{API: h, APIRoutes: h.Routes(), Auth: auth, SessionTTL: s.o.SessionTTL,
		Changes: func(ctx context.Context, fn func(alerts.Committed)) error {
			return transport.WatchChanges(ctx, js, s.names, fn)
		},
		Version: s.o.Version, Logger: s.o.Logger})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.mu.Lock()
	s.routes = c.Routes()
	s.mu.Unlock()
	return c, nil
}

// Routes lists every route of the HTTP listener, API and console (valid
// after Started), for tests that must not miss one.
func (s *Server) Routes() []api.Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.Route(nil), s.routes...)
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
