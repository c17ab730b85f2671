package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crmwatch/collectors"
	"crmwatch/transport"
)

// Run connects to the centre (in the background if it is down), runs every
// collector and the heartbeat until ctx ends, then stops them all, writes a
// last "stopped" registration and closes the connection. A collector that
// fails stops the agent with its error.
func (a *Agent) Run(ctx context.Context) error {
	if len(a.o.Roles) == 0 {
		a.log.Warn("this agent has no CRM roles: rules for particular roles (most of the built-in pack) cannot apply to this host's events; pass --roles, e.g. --roles AppServer,AsyncService",
			"valid_roles", Roles)
	}
	nc, err := transport.Connect(transport.ConnectOptions{URLs: transport.SplitURLs(a.o.NATS.Reveal()), Name: "crmwatch-agent " + a.o.Name, Logger: a.log})
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("agent: JetStream: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}))
	pub, err := transport.NewPublisher(transport.PublisherOptions{JS: js, Names: a.names, Logger: a.log.With("component", "publisher"), Registerer: reg})
	if err != nil {
		return err
	}
	cols, err := a.build(reg)
	if err != nil {
		return err
	}
	tc, err := a.newTraceController(js, pub, reg)
	if err != nil {
		return err
	}

	var g run.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for typ, c := range cols {
		g.Add(func() error {
			if err := c.Run(runCtx, pub); err != nil {
				return fmt.Errorf("collector %s: %w", typ, err)
			}
			return nil
		}, func(error) { cancel() })
	}
	if tc != nil {
		g.Add(func() error { return tc.Run(runCtx) }, func(error) { cancel() })
	}
	hb := &heartbeat{a: a, js: js, started: time.Now(), sources: sourcesOf(cols)}
	g.Add(func() error { return hb.run(runCtx) }, func(error) { cancel() })
	if a.o.MetricsListen != "" {
		if err := a.addMetrics(&g, reg); err != nil {
			return err
		}
	}
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })

	a.log.Info("agent started", "nats", a.o.NATS, "roles", a.o.Roles, "collectors", a.Collectors())
	runErr := g.Run()
	hb.stopped(nc)
	a.log.Info("agent stopped")
	return runErr
}

// build creates one collector per configured type, each with its own
// state directory and metrics labelled with its type.
func (a *Agent) build(reg prometheus.Registerer) (map[string]collectors.Collector, error) {
	out := make(map[string]collectors.Collector, len(a.configs))
	for typ, cfg := range a.configs {
		fac, _ := a.reg.Factory(typ)
		dir := filepath.Join(a.o.StateDir, typ)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("collector %s: state directory: %w", typ, err)
		}
		c, err := fac.New(cfg, collectors.Settings{
			Host: a.o.Name, Roles: a.o.Roles, StateDir: dir,
			Logger:     a.log,
			Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"collector": typ}, reg),
		})
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", typ, err)
		}
		out[typ] = c
	}
	return out, nil
}

func (a *Agent) addMetrics(g *run.Group, reg *prometheus.Registry) error {
	ln, err := net.Listen("tcp", a.o.MetricsListen)
	if err != nil {
		return fmt.Errorf("agent metrics listener %s: %w (choose another --metrics-listen)", a.o.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	g.Add(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("agent metrics listener: %w", err)
		}
		return nil
	}, func(error) {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	a.log.Info("agent metrics listening", "addr", ln.Addr().String())
	return nil
}

// sourcesOf collects the source statuses of the collectors that report
// them, sorted by collector type, for each registration.
func sourcesOf(cols map[string]collectors.Collector) func() []collectors.SourceStatus {
	types := make([]string, 0, len(cols))
	for t := range cols {
		types = append(types, t)
	}
	sort.Strings(types)
	return func() []collectors.SourceStatus {
		var out []collectors.SourceStatus
		for _, t := range types {
			if sr, ok := cols[t].(collectors.StatusReporter); ok {
				out = append(out, sr.SourceStatuses()...)
			}
		}
		return out
	}
}

// heartbeat keeps the agent's registration fresh. The bucket is created by
// the server, so while the centre is down it simply tries again next tick.
type heartbeat struct {
	a       *Agent
	js      jetstream.JetStream
	started time.Time
	sources func() []collectors.SourceStatus
	agents  *transport.Agents
	failing string // the last failure logged, "" while heartbeats are delivered
}

func (h *heartbeat) run(ctx context.Context) error {
	t := time.NewTicker(h.a.o.HeartbeatEvery)
	defer t.Stop()
	for {
		h.beat(ctx, false)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (h *heartbeat) beat(ctx context.Context, stopped bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := transport.Explain(h.js.Conn(), h.put(ctx, stopped))
	switch {
	case err != nil && err.Error() != h.failing: // logged once per reason, not every interval
		h.failing = err.Error()
		h.a.log.Warn("heartbeat failed; retrying every interval", "err", err)
	case err == nil && h.failing != "":
		h.failing = ""
		h.a.log.Info("heartbeat delivered again")
	}
}

func (h *heartbeat) put(ctx context.Context, stopped bool) error {
	if h.agents == nil {
		ag, err := transport.OpenAgents(ctx, h.js, h.a.names)
		if err != nil {
			return err
		}
		h.agents = ag
	}
	return h.agents.Put(ctx, h.a.registration(h.started, time.Now(), stopped, h.sources()))
}

// stopped tells the centre this was a clean stop, best effort.
func (h *heartbeat) stopped(nc *nats.Conn) {
	if !nc.IsConnected() {
		return
	}
	h.beat(context.Background(), true)
}
