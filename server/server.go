package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/rules"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
	"crmwatch/tracing/tracectl"
	"crmwatch/transport"
)

// Server is a configured server; Run starts it.
type Server struct {
	o     Options
	names transport.Names
	log   *slog.Logger

	started  chan struct{}
	mu       sync.Mutex
	httpAddr string
	natsURL  secret.URL
	st       store.Store
	engine   *rules.Engine
	agents   *transport.Directory
	reloadMu sync.Mutex          // one reload at a time
	groups   map[string][]string // server groups of the overrides files
	trace    *tracectl.Manager
	plans    map[event.Role]collectors.Plan
	planKV   *transport.Plans
}

// New validates the options; it touches neither disk nor network.
func New(o Options) (*Server, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	names, _ := transport.NewNames(o.Prefix)
	return &Server{o: o, names: names, log: o.Logger.With("component", "server"), started: make(chan struct{}), agents: transport.NewDirectory()}, nil
}

// Started is closed once every part runs and the HTTP API accepts requests.
func (s *Server) Started() <-chan struct{} { return s.started }

// HTTPAddr is the API's address (valid after Started).
func (s *Server) HTTPAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.httpAddr }

// NATSURL is the URL agents connect to (valid after Started); it may carry
// the credentials of an external NATS.
func (s *Server) NATSURL() secret.URL { s.mu.Lock(); defer s.mu.Unlock(); return s.natsURL }

// Store is the server's store (valid after Started, until Run returns);
// the demo uses it to create the first operator.
func (s *Server) Store() store.Store { s.mu.Lock(); defer s.mu.Unlock(); return s.st }

// Agents is the current view of registered agents.
func (s *Server) Agents() []transport.Registration { return s.agents.List() }

// Run starts store → NATS → streams and buckets → engine (packs, open
// alerts restored) → consumer → HTTP, serves until ctx ends, then stops
// everything in reverse order. It returns the first error that stopped it.
func (s *Server) Run(ctx context.Context) error {
	if s.o.usesDataDir() {
		release, err := lockDataDir(s.o.DataDir)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		defer release()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}))

	st, err := sqlstore.Open(ctx, s.o.storeDSN(), sqlstore.Options{Logger: s.o.Logger})
	if err != nil {
		return fmt.Errorf("server: open store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			s.log.Warn("closing the store", "err", err)
		}
	}()

	nc, stopNATS, err := s.startNATS()
	if err != nil {
		return err
	}
	defer stopNATS()
	defer nc.Close()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("server: JetStream: %w", err)
	}
	if err := transport.Setup(ctx, js, s.names, transport.StreamLimits{}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	agents, err := transport.OpenAgents(ctx, js, s.names)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}

	engine, err := s.startEngine(ctx, st, reg)
	if err != nil {
		return err
	}
	tm, err := s.newTraceManager(js, st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.trace = tm
	s.mu.Unlock()
	if err := s.startPlans(ctx, js); err != nil {
		return err
	}
	s.setEngine(engine)
	defer s.setEngine(nil)
	consumer, err := transport.NewConsumer(ctx, transport.ConsumerOptions{
		JS: js, Names: s.names, Handler: &ingest{engine: engine, log: s.log.With("component", "ingest")},
		Logger: s.o.Logger.With("component", "consumer"), Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ln, srv, err := s.startHTTP(st, engine, reg)
	if err != nil {
		return err
	}

	s.mu.Lock()
	s.httpAddr, s.st = ln.Addr().String(), st
	s.mu.Unlock()
	close(s.started)
	s.log.Info("server started", "http", ln.Addr().String(), "nats", s.NATSURL(), "store", s.o.storeName())
	err = s.supervise(ctx, parts{consumer: consumer, agents: agents, engine: engine, trace: tm, ln: ln, http: srv})
	s.log.Info("server stopping")
	// Changes the engine could not store yet get one last chance.
	if ferr := engine.ProcessEvents(context.Background(), nil); ferr != nil {
		s.log.Error("alert changes lost at shutdown: the store refused them", "err", ferr)
	}
	return err
}

// parts are the long-running parts, started and ready to serve.
type parts struct {
	consumer *transport.Consumer
	agents   *transport.Agents
	engine   *rules.Engine
	trace    *tracectl.Manager
	ln       net.Listener
	http     *http.Server
}

// supervise runs every part as an actor of one run group until ctx ends or
// one of them fails; then all are interrupted and awaited.
func (s *Server) supervise(ctx context.Context, p parts) error {
	var g run.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error { return p.consumer.Run(runCtx) }, func(error) { cancel() })
	g.Add(func() error { return watchAgents(runCtx, p.agents, s.agents, p.engine, s.log) }, func(error) { cancel() })
	g.Add(func() error { return tick(runCtx, p.engine, s.o.TickEvery, s.log) }, func(error) { cancel() })
	g.Add(func() error { return p.trace.Run(runCtx) }, func(error) { cancel() })
	g.Add(func() error {
		if err := p.http.Serve(p.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("server: HTTP API: %w", err)
		}
		return nil
	}, func(error) {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = p.http.Shutdown(sctx)
	})
	return g.Run()
}

// startNATS runs the embedded server or connects to the configured one.
func (s *Server) startNATS() (*nats.Conn, func(), error) {
	urls := transport.SplitURLs(s.o.NATS.Reveal())
	stop := func() {}
	if s.o.embedded() {
		e, err := transport.StartEmbedded(transport.EmbeddedOptions{
			Listen: s.o.NATSListen, StoreDir: s.o.natsStoreDir(), SyncInterval: s.o.NATSSyncInterval,
			Logger: s.o.Logger.With("component", "nats"),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("server: %w", err)
		}
		urls, stop = []string{e.ClientURL()}, e.Shutdown
	}
	nc, err := transport.Connect(transport.ConnectOptions{URLs: urls, Name: "crmwatch-server", WaitFirst: true, Logger: s.log})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	s.mu.Lock()
	s.natsURL, _ = secret.ParseURL(urls[0]) // it dialled, so it parses
	if s.o.embedded() {
		s.natsURL, _ = secret.ParseURL(nc.ConnectedUrl())
	}
	s.mu.Unlock()
	return nc, stop, nil
}

// startEngine loads the packs' rules and resumes the open alerts.
func (s *Server) startEngine(ctx context.Context, st store.Store, reg prometheus.Registerer) (*rules.Engine, error) {
	f, err := loadFarm(s.o.PackDirs, s.o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	rs := f.rules
	s.setGroups(f.groups)
	s.setPlans(f.plans)
	engine := rules.NewEngine(rules.Options{Sender: st, Logger: s.o.Logger, Registerer: reg})
	if err := engine.Load(rs); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	open, err := st.OpenAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: read open alerts: %w", err)
	}
	engine.Restore(open)
	// Send what Restore changed (alerts of rules no longer loaded resolve).
	if err := engine.Tick(ctx, time.Now()); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.log.Info("rules engine ready", "rules", len(rs), "open_alerts_restored", len(open))
	return engine, nil
}

func (s *Server) startHTTP(st store.Store, engine *rules.Engine, reg *prometheus.Registry) (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("server: HTTP listener %s: %w (is another server running? choose another --listen)", s.o.Listen, err)
	}
	h, err := s.apiHandler(st, engine, reg)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, nil
}
