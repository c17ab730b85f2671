package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"

	"crmwatch/alerts"
	"crmwatch/alerts/orgs"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/capacity/rollup"
	"crmwatch/certs"
	"crmwatch/collectors"
	"crmwatch/dashboards"
	"crmwatch/dashboards/history"
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
	groups   map[string][]string // server groups of the overrides files (group → hosts)
	trace    *tracectl.Manager
	orgNames *orgs.Directory
	// tellPeers announces a pack reload to the other servers.
	tellPeers func(by string)
	agents    *transport.Directory
	reloadMu  sync.Mutex // one reload at a time
	plans     map[event.Role]collectors.Plan
	planKV    *transport.Plans
	// tls is the server's certificate (nil: plain HTTP and NATS); caFile
	// the private CA of --tls auto. Both are set before Run starts parts.
	tls    *tls.Config
	caFile string
	// nats is the embedded NATS (nil with an external one); serverKey this
	// server's own NATS user when it enforces agent credentials.
	nats      *transport.Embedded
	serverKey transport.UserKey
	notifier  *notifier
	routes    []api.Route // of the HTTP listener, for Routes
	// dashboards of the loaded packs, replaced by a reload
	dashboards []dashboards.Dashboard
	// recorder keeps this server's own metrics for the console's
	// dashboards (set with the HTTP handler, run by supervise)
	recorder *history.Recorder
}

// hostGroups is the server groups by lower-case host name.
func (s *Server) hostGroups() map[string][]string { return groupsByHost(s.serverGroups()) }

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

// Run starts store → NATS → streams and buckets → rules engine (packs
// loaded) → the evaluator (which evaluates while this server holds the
// evaluator lease), the change publisher and the agents watch → HTTP, serves
// until ctx ends, then stops everything in reverse order. It returns the
// first error that stopped it.
func (s *Server) Run(ctx context.Context) error {
	if s.o.usesDataDir() {
		release, err := lockDataDir(s.o.DataDir)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		defer release()
	}
	if err := s.loadTLS(); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}))

	if s.o.OrgNames != "" {
		d, err := orgs.Load(s.o.OrgNames)
		if err != nil {
			return fmt.Errorf("server: --org-names: %w", err)
		}
		s.orgNames = d
	}
	st, err := sqlstore.Open(ctx, s.o.storeDSN(), sqlstore.Options{Logger: s.o.Logger})
	if err != nil {
		return fmt.Errorf("server: open store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			s.log.Warn("closing the store", "err", err)
		}
	}()
	reg.MustRegister(newAlertCollector(st))

	nc, stopNATS, err := s.startNATS(ctx, st)
	if err != nil {
		return err
	}
	defer stopNATS()
	defer nc.Close()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("server: JetStream: %w", err)
	}
	limits := transport.StreamLimits{LeaseTTL: s.o.LeaseTTL, MaxBytes: s.o.StreamMaxBytes}
	if err := transport.Setup(ctx, js, s.names, limits); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	agents, err := transport.OpenAgents(ctx, js, s.names)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	holder := instanceName()
	lease, err := transport.OpenLease(ctx, js, s.names, holder, s.o.LeaseTTL, s.log.With("component", "evaluator"))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	rollups, err := s.newRollupConsumer(ctx, js, st, holder, reg)
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
	m, err := newEvalMetrics(reg)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	notifier, err := s.startNotifier(ctx, js, st, holder, reg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.notifier = notifier
	s.mu.Unlock()
	pub := newChangePublisher(js, s.names, st, s.log.With("component", "changes"), m)
	ev := &evaluator{st: st, js: js, names: s.names, lease: lease, holder: holder, beats: newBeatQueue(),
		agents: s.agents, groups: s.hostGroups, tick: s.o.TickEvery, publish: pub,
		log: s.log.With("component", "evaluator"), m: m, nudge: make(chan struct{}, 1), health: notifier.healthFeed()}
	engine, err := s.startEngine(reg, ev.send)
	if err != nil {
		return err
	}
	ev.engine = engine
	s.setEngine(engine)
	defer s.setEngine(nil)
	if err := s.startPlans(ctx, js); err != nil { // after the engine: it sets the plans the packs define
		return err
	}
	nudges, err := s.subscribeNudges(nc, ev)
	if err != nil {
		return err
	}
	defer nudges.Unsubscribe() //nolint:errcheck // the connection closes next
	reloads, err := s.subscribeReloads(ctx, nc, holder)
	if err != nil {
		return err
	}
	defer reloads.Unsubscribe() //nolint:errcheck // the connection closes next
	ln, srv, err := s.startHTTP(st, pub, nc, js, reg)
	if err != nil {
		return err
	}

	s.mu.Lock()
	s.httpAddr, s.st = ln.Addr().String(), st
	s.mu.Unlock()
	close(s.started)
	s.log.Info("server started", "http", ln.Addr().String(), "api", s.URL(), "nats", s.NATSURL(), "store", s.o.storeName(), "instance", holder)
	err = s.supervise(ctx, parts{evaluator: ev, rollups: rollups, reports: st, publisher: pub, agents: agents, beats: ev.beats, trace: tm, notifier: notifier, ln: ln, http: srv})
	s.log.Info("server stopped")
	return err
}

// newRollupConsumer prepares the capacity rollups: a consumer of the
// samples and events streams of its own, elected by its own lease so it
// may run on another server than the evaluator.
func (s *Server) newRollupConsumer(ctx context.Context, js jetstream.JetStream, st *sqlstore.Store, holder string, reg prometheus.Registerer) (*rollup.Consumer, error) {
	log := s.log.With("component", "rollup")
	lease, err := transport.OpenNamedLease(ctx, js, s.names, rollup.LeaseKey, holder, s.o.LeaseTTL, log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	c, err := rollup.NewConsumer(rollup.ConsumerOptions{JS: js, Names: s.names, Store: st, Lease: lease, Registerer: reg, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return c, nil
}

// parts are the long-running parts, started and ready to serve.
type parts struct {
	evaluator *evaluator
	rollups   *rollup.Consumer
	reports   report.Source
	publisher *changePublisher
	agents    *transport.Agents
	beats     *beatQueue
	trace     *tracectl.Manager
	notifier  *notifier
	ln        net.Listener
	http      *http.Server
}

// supervise runs every part as an actor of one run group until ctx ends or
// one of them fails; then all are interrupted and awaited. The HTTP API
// stops first (it drains), then the evaluator finishes the batch in hand
// (committing it whole or not at all) and releases the lease, then the
// publisher sends what is already queued.
func (s *Server) supervise(ctx context.Context, p parts) error {
	var g run.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error { return p.evaluator.run(runCtx) }, func(error) { cancel() })
	g.Add(func() error { return p.rollups.Run(runCtx) }, func(error) { cancel() })
	g.Add(func() error { return s.runCapacityReports(runCtx, p.reports, p.rollups, p.notifier) }, func(error) { cancel() })
	g.Add(func() error { return p.publisher.run(runCtx, true) }, func(error) { cancel() })
	g.Add(func() error { return watchAgents(runCtx, p.agents, s.agents, p.beats) }, func(error) { cancel() })
	g.Add(func() error { return p.trace.Run(runCtx) }, func(error) { cancel() })
	g.Add(func() error { return p.notifier.run(runCtx) }, func(error) { cancel() })
	g.Add(func() error { return s.recorder.Run(runCtx) }, func(error) { cancel() })
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

// instanceName names this server process uniquely in the evaluator lease
// and the logs: host, process id and a random part.
func instanceName() string {
	h, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", h, os.Getpid(), hex.EncodeToString(b[:]))
}

// startNATS runs the embedded server or connects to the configured one.
func (s *Server) startNATS(ctx context.Context, st store.AgentCredentials) (*nats.Conn, func(), error) {
	urls := transport.SplitURLs(s.o.NATS.Reveal())
	stop := func() {}
	co := transport.ConnectOptions{Name: "crmwatch-server", WaitFirst: true, Logger: s.log}
	if s.o.embedded() {
		eo := transport.EmbeddedOptions{
			Listen: s.o.NATSListen, StoreDir: s.o.natsStoreDir(), SyncInterval: s.o.NATSSyncInterval,
			TLS: s.tls, Names: s.names, Logger: s.o.Logger.With("component", "nats"),
		}
		if s.o.enforcing() {
			// A key of its own per start: it never leaves the process.
			_, seed, err := transport.NewUserKey()
			if err == nil {
				s.serverKey, err = transport.ParseUserKey(seed)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("server: %w", err)
			}
			u, err := s.natsUsers(ctx, st)
			if err != nil {
				return nil, nil, fmt.Errorf("server: enrolled agents: %w", err)
			}
			eo.Users, co.Key = &u, &s.serverKey
		}
		e, err := transport.StartEmbedded(eo)
		if err != nil {
			return nil, nil, fmt.Errorf("server: %w", err)
		}
		s.nats = e
		// The server's own connection is in-process: no port, no TLS
		// (a tls:// URL would make the client ask for it).
		urls, stop, co.InProcess = []string{e.ClientURL()}, e.Shutdown, e
		co.URLs = []string{"nats://" + strings.TrimPrefix(strings.TrimPrefix(e.ClientURL(), "tls://"), "nats://")}
	} else {
		co.URLs = urls
		if s.o.NATSCreds != "" {
			c, err := transport.ReadCredentials(s.o.NATSCreds)
			if err != nil {
				return nil, nil, fmt.Errorf("server: --nats-creds: %w", err)
			}
			key, err := transport.ParseUserKey(c.Seed)
			if err != nil {
				return nil, nil, fmt.Errorf("server: --nats-creds: %w", err)
			}
			co.Key = &key
			if c.CA != "" { // the external NATS' CA, carried in the file
				if co.TLS, err = certs.ClientConfig(certs.ClientOptions{CAPEM: []byte(c.CA)}); err != nil {
					return nil, nil, fmt.Errorf("server: --nats-creds: %w", err)
				}
				co.CAFile = "the CA in " + s.o.NATSCreds
			}
		}
	}
	nc, err := transport.Connect(co)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	s.mu.Lock()
	s.natsURL, _ = secret.ParseURL(urls[0]) // it dialled, so it parses
	s.mu.Unlock()
	return nc, stop, nil
}

// loadTLS resolves the server's certificate (creating the private CA of
// --tls auto) before anything listens.
func (s *Server) loadTLS() error {
	if !s.o.TLS.enabled() {
		return nil
	}
	p := certs.Pair{CertFile: s.o.TLS.CertFile, KeyFile: s.o.TLS.KeyFile}
	if s.o.TLS.Mode == TLSAuto {
		var err error
		if p, err = certs.Auto(s.o.tlsDir(), listenHosts(s.o.Listen, s.o.NATSListen)); err != nil {
			return fmt.Errorf("server: --tls auto: %w", err)
		}
	}
	cfg, err := certs.ServerConfig(p)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.tls, s.caFile = cfg, p.CAFile
	return nil
}

// listenHosts are the hosts of listen addresses, for the certificate.
func listenHosts(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			out = append(out, h)
		}
	}
	return out
}

// CAFile is the CA clients need with --tls auto ("" otherwise).
func (s *Server) CAFile() string { return s.caFile }

// URL is the API's base URL, http:// or https:// (valid after Started).
func (s *Server) URL() string {
	if s.tls != nil {
		return "https://" + s.HTTPAddr()
	}
	return "http://" + s.HTTPAddr()
}

// startEngine loads the packs' rules into an idle engine; the evaluator
// restores the open alerts when this server takes the evaluator role.
func (s *Server) startEngine(reg prometheus.Registerer, send alerts.SenderFunc) (*rules.Engine, error) {
	f, err := loadFarm(s.o.PackDirs, s.o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	engine := rules.NewEngine(rules.Options{Sender: send, Logger: s.o.Logger, Registerer: reg})
	if err := engine.Load(f.rules); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.setGroups(f.groups)
	s.setPlans(f.plans)
	s.setDashboards(f.dashboards)
	s.log.Info("rules engine ready", "rules", len(f.rules))
	return engine, nil
}

func (s *Server) startHTTP(st store.Store, pub *changePublisher, nc *nats.Conn, js jetstream.JetStream, reg *prometheus.Registry) (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("server: HTTP listener %s: %w (is another server running? choose another --listen)", s.o.Listen, err)
	}
	h, err := s.apiHandler(st, pub, nc, js, reg)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	ln = limitListener(ln, s.o.HTTP.MaxConns)
	srv := s.o.HTTP.server(h)
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
		// A client refusing the certificate is the client's problem to
		// report; the server notes it in its own log, at debug level.
		srv.ErrorLog = slog.NewLogLogger(s.log.With("component", "http").Handler(), slog.LevelDebug)
	}
	if c, ok := h.(interface{ Shutdown() }); ok {
		srv.RegisterOnShutdown(c.Shutdown) // open event streams never go idle: end them
	}
	return ln, srv, nil
}
