package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crmwatch/agent/spool"
	"crmwatch/certs"
	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/transport"
)

// Run connects to the centre (in the background if it is down), runs every
// collector and the heartbeat until ctx ends, then stops them all, writes a
// last "stopped" registration and closes the connection. A collector that
// fails stops the agent with its error. The collection plan the packs give
// the host's roles arrives from the centre and is applied without a
// restart (planWatch).
func (a *Agent) Run(ctx context.Context) error {
	co := transport.ConnectOptions{URLs: transport.SplitURLs(a.o.NATS.Reveal()), Name: "crmwatch-agent " + a.o.Name, TLS: a.tls, CAFile: a.caFile(), Logger: a.log}
	if a.creds != nil {
		key, err := transport.ParseUserKey(a.creds.Seed) // checked by New
		if err != nil {
			return err
		}
		// Replies only below this host's inbox prefix, the one its
		// permissions let it subscribe to; a credential with a CA
		// never talks in clear.
		co.Key, co.InboxPrefix, co.RequireTLS = &key, a.names.InboxPrefix(a.o.Name), a.creds.CA != ""
	}
	nc, err := transport.Connect(co)
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
	counters := newCounterExposition(pub)
	reg.MustRegister(counters)
	maxBytes, _ := a.file.spoolMaxBytes() // checked by New
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(a.o.StateDir, "spool"), MaxBytes: maxBytes, Next: counters,
		Logger: a.log, Registerer: reg})
	if err != nil {
		return err
	}
	defer sp.Close()

	var g run.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sup := newSupervisor(runCtx, a, sinks{direct: counters, volatile: sp}, reg)
	defer sup.stopAll()
	g.Add(func() error { return sp.Run(runCtx) }, func(error) { cancel() })
	a.setRoles(a.discover(runCtx, a.currentConfigs()))
	if a.spec.none {
		a.log.Info("no CRM roles (--roles none): only the rules for every role (agent availability, the agent's own guards) apply to this host, and there is no CRM tracing to control")
	} else if len(a.Roles().Findings) == 0 {
		a.log.Warn("this agent has no CRM roles: rules for particular roles (most of the built-in pack) cannot apply to this host's events; pass --roles, e.g. --roles AppServer,AsyncService",
			"valid_roles", event.RoleNames(), "or", "--roles auto finds them from the trace headers and (on Windows) the CRM services")
	}
	if err := sup.apply(a.currentConfigs(), a.Roles().Roles()); err != nil {
		return err
	}
	// Trace control targets roles: it starts once they are known.
	tc, err := a.newTraceController(js, pub, reg)
	if err != nil {
		return err
	}
	if tc != nil {
		g.Add(func() error { return tc.Run(runCtx) }, func(error) { cancel() })
	}
	hb := &heartbeat{a: a, js: js, started: time.Now(), sources: sup.sources, kick: make(chan struct{}, 1)}
	pw := &planWatch{a: a, js: js, sup: sup, kick: hb.wake}
	g.Add(func() error { return pw.run(runCtx) }, func(error) { cancel() })
	g.Add(func() error {
		select {
		case err := <-sup.errc:
			return err
		case <-runCtx.Done():
			return nil
		}
	}, func(error) { cancel() })
	g.Add(func() error { return hb.run(runCtx) }, func(error) { cancel() })
	if a.o.MetricsListen != "" {
		if err := a.addMetrics(&g, reg); err != nil {
			return err
		}
	}
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })

	a.log.Info("agent started", "nats", a.o.NATS, "roles", a.Roles().Roles(), "collectors", sup.types())
	runErr := g.Run()
	sup.stopAll()
	hb.stopped(nc)
	a.log.Info("agent stopped")
	return runErr
}

// caFile is the CA file the agent verifies the centre with, for messages.
func (a *Agent) caFile() string {
	switch {
	case a.o.CA != "":
		return a.o.CA
	case os.Getenv(certs.EnvCA) != "":
		return os.Getenv(certs.EnvCA)
	case a.creds != nil && a.creds.CA != "":
		return "the credentials file " + a.o.Creds
	}
	return ""
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
	a.mu.Lock()
	a.metricsAddr = ln.Addr().String()
	a.mu.Unlock()
	a.log.Info("agent metrics listening", "addr", ln.Addr().String())
	return nil
}

// heartbeat keeps the agent's registration fresh. The bucket is created by
// the server, so while the centre is down it simply tries again next tick.
type heartbeat struct {
	a       *Agent
	js      jetstream.JetStream
	started time.Time
	sources func() []collectors.SourceStatus
	agents  *transport.Agents
	failing string        // the last failure logged, "" while heartbeats are delivered
	kick    chan struct{} // an early beat: roles or collectors changed
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
		case <-h.kick:
		}
	}
}

// wake asks for a beat now (the registration changed).
func (h *heartbeat) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
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
