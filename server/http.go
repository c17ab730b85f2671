package server

import (
	"context"
	"fmt"

	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/rules"
	"crmwatch/store"
)

// apiHandler builds the HTTP API over the store, the agent directory and
// the metrics registry. Operator acknowledgements and resolutions go to the
// store and then to the engine, so consolidation follows them (a repeat of
// an acknowledged alert stays acknowledged; a resolved one is forgotten and
// the next occurrence raises a new alert).
func (s *Server) apiHandler(st store.Store, engine *rules.Engine, reg *prometheus.Registry) (http.Handler, error) {
	changes := alerts.SenderFunc(func(ctx context.Context, cs []alerts.Change) error {
		if err := st.Send(ctx, cs); err != nil {
			return err
		}
		for _, c := range cs {
			switch c.Kind {
			case alerts.ChangeAcknowledged:
				engine.MarkAcknowledged(c.Alert.ID)
			case alerts.ChangeResolved:
				engine.Forget(c.Alert.ID)
			}
		}
		return nil
	})
	h, err := api.New(api.Options{
		Store:    st,
		Agents:   api.AgentListerFunc(s.listAgents),
		Changes:  changes,
		Logger:   s.o.Logger.With("component", "api"),
		Registry: reg,
		Routes:   append([]api.Route{{Method: "POST", Pattern: ReloadPath, Permission: access.PermAdmin, Handler: s.reloadRoute()}}, s.trace.Routes()...),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return h, nil
}
