// Package api is the crmwatch server's HTTP API: alerts, agents, operators
// and audit for operators, /metrics for Prometheus and an open /healthz.
// Every route but /healthz goes through access: a bearer token of an active
// operator whose role holds the route's permission. Errors are JSON
// {"error": "…"} saying what failed and what to do.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/store"
)

// Store is what the API needs of the store.
type Store interface {
	store.Alerts
	store.Operators
	store.Auditor
	store.Suppressions
	store.NotificationLog
}

// Options wire the API. Store is required; the rest have defaults.
type Options struct {
	Store Store
	// Agents lists agents; without it GET /api/v1/agents answers 503.
	Agents AgentLister
	// Auth checks tokens; default access.NewAuthenticator(Store, Logger).
	Auth *access.Authenticator
	// Committed receives the changes operators' actions committed, for the
	// alert-changes stream (the outbox keeps them if this is nil or fails).
	Committed func(ctx context.Context, cs []alerts.Committed)
	// SuppressionsChanged is called after a maintenance window or silence
	// was added or ended, so the evaluator applies it at once.
	SuppressionsChanged func()
	// OrgNames names organizations (GUID → display name) in answers.
	OrgNames OrgNamer
	Logger   *slog.Logger
	// Registry gets the API's request metrics and is served on /metrics;
	// default a new registry.
	Registry *prometheus.Registry
	// Routes are extra routes mounted behind the same authentication (for
	// example trace settings).
	Routes []Route
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Route is one API endpoint and the permission it needs. Open routes
// (/healthz only) have an empty Permission.
type Route struct {
	Method     string
	Pattern    string
	Permission access.Permission
	Handler    http.Handler
}

// Server is the API; it is an http.Handler.
type Server struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []Route
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New builds the API and registers its metrics.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Auth == nil {
		opts.Auth = access.NewAuthenticator(opts.Store, opts.Logger)
	}
	if opts.Committed == nil {
		opts.Committed = func(context.Context, []alerts.Committed) {}
	}
	if opts.SuppressionsChanged == nil {
		opts.SuppressionsChanged = func() {}
	}
	if opts.OrgNames == nil {
		opts.OrgNames = noNames{}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "api"), mux: http.NewServeMux()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crmwatch_api_requests_total", Help: "HTTP API requests by route and status code.",
	}, []string{"route", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "crmwatch_api_request_duration_seconds", Help: "HTTP API request duration by route and status code.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "code"})
	for _, c := range []prometheus.Collector{s.requests, s.duration} {
		if err := opts.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w (one API per registry)", err)
		}
	}
	s.routes = append(s.builtinRoutes(), opts.Routes...)
	for _, r := range s.routes {
		if err := s.mount(r); err != nil {
			return nil, err
		}
	}
	// Anything else still needs a token, then gets a JSON 404.
	s.mux.Handle("/", s.instrument("unmatched", opts.Auth.Require(access.PermRead, http.HandlerFunc(s.notFound))))
	return s, nil
}

func (s *Server) builtinRoutes() []Route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	metrics := promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{Registry: s.opts.Registry})
	return []Route{
		{"GET", "/healthz", "", h(s.healthz)},
		{"GET", "/metrics", access.PermRead, metrics},
		{"GET", "/api/v1/alerts", access.PermRead, h(s.listAlerts)},
		{"GET", "/api/v1/alerts/{id}", access.PermRead, h(s.getAlert)},
		{"POST", "/api/v1/alerts/{id}/acknowledge", access.PermAlertWrite, s.actOne(alerts.ChangeAcknowledged)},
		{"POST", "/api/v1/alerts/{id}/resolve", access.PermAlertWrite, s.actOne(alerts.ChangeResolved)},
		{"POST", "/api/v1/alerts/{id}/comment", access.PermAlertWrite, s.actOne(alerts.ChangeCommented)},
		{"POST", "/api/v1/alerts/{id}/assign", access.PermAlertWrite, s.actOne(alerts.ChangeAssigned)},
		{"POST", "/api/v1/alerts/actions", access.PermAlertWrite, h(s.actMany)},
		{"GET", "/api/v1/maintenance", access.PermRead, h(s.listWindows)},
		{"POST", "/api/v1/maintenance", access.PermAlertWrite, h(s.addWindow)},
		{"DELETE", "/api/v1/maintenance/{id}", access.PermAlertWrite, h(s.removeWindow)},
		{"GET", "/api/v1/silences", access.PermRead, h(s.listSilences)},
		{"POST", "/api/v1/silences", access.PermAlertWrite, h(s.addSilence)},
		{"POST", "/api/v1/silences/{id}/expire", access.PermAlertWrite, h(s.expireSilence)},
		{"GET", "/api/v1/agents", access.PermRead, h(s.listAgents)},
		{"GET", OperatorsPath, access.PermAdmin, h(s.listOperators)},
		{"POST", OperatorsPath, access.PermAdmin, h(s.addOperator)},
		{"POST", OperatorRevokePath, access.PermAdmin, h(s.revokeOperator)},
		{"POST", OperatorRotatePath, access.PermAdmin, h(s.rotateOperator)},
		{"GET", "/api/v1/audit", access.PermAdmin, h(s.auditLog)},
	}
}

func (s *Server) mount(r Route) error {
	if r.Method == "" || r.Pattern == "" || r.Handler == nil {
		return fmt.Errorf("api: route %q %q: method, pattern and handler are required", r.Method, r.Pattern)
	}
	h := r.Handler
	if r.Permission != "" {
		h = s.opts.Auth.Require(r.Permission, h)
	} else if r.Pattern != "/healthz" {
		return fmt.Errorf("api: route %s %s has no permission; only /healthz is open", r.Method, r.Pattern)
	}
	pattern := r.Method + " " + r.Pattern
	s.mux.Handle(pattern, s.instrument(pattern, h))
	return nil
}

// Routes lists every mounted route, so tests and docs cannot miss one.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		code := strconv.Itoa(sw.code)
		s.requests.WithLabelValues(route, code).Inc()
		s.duration.WithLabelValues(route, code).Observe(time.Since(start).Seconds())
	})
}
