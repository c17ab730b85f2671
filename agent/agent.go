// Package agent is the crmwatch agent process: it registers its host with
// the centre, heartbeats, runs the configured collectors and publishes what
// they collect through JetStream, acknowledged before any collector advances
// its checkpoint.
//
// Collectors come from an explicit registry of factories the caller passes
// in (cmd/crmwatch passes the ones this build has), so the agent can be used
// as a library and tests can run it in-process.
package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"crmwatch/collectors"
	"crmwatch/secret"
	"crmwatch/tracing/otlp"
	"crmwatch/transport"
)

// Options configure an agent.
type Options struct {
	// NATS are the centre's NATS URLs, comma-separated, nats:// or tls://
	// (default nats://127.0.0.1:4247, the server's embedded NATS). A
	// secret: the URLs may carry credentials.
	NATS secret.URL
	// Name is the host name reported with every event (default: os.Hostname).
	Name string
	// Roles are this host's CRM roles (see Roles).
	Roles []string
	// ConfigFile is the YAML file listing collectors (see File); optional.
	ConfigFile string
	// TraceDirs, when set, enable the tracefiles collector on these
	// directories, overriding the config file.
	TraceDirs []string
	// OTLPEndpoint, when set, makes the tracefiles collector export what
	// it tails to this OTLP/HTTP receiver too, with exactly OTLPHeaders
	// (both replace the config file's otlp endpoint and headers).
	OTLPEndpoint string
	OTLPHeaders  []otlp.Header
	// StateDir keeps collector checkpoints (default: crmwatch-agent-state
	// under the user's config dir).
	StateDir string
	// MetricsListen is host:port for the agent's own /metrics; "" disables it.
	MetricsListen string
	// TraceControl configures remote trace control (the config file's
	// trace_control section fills what is left zero here).
	TraceControl TraceControl
	// HeartbeatEvery is the registration refresh interval (default DefaultHeartbeat).
	HeartbeatEvery time.Duration
	// Factories are the collector types this build supports.
	Factories []collectors.Factory
	// Prefix names the NATS streams and buckets (default "crmwatch").
	Prefix  string
	Version string
	Logger  *slog.Logger
}

// Defaults (the one source of them; the command line shows these).
const (
	// DefaultNATSURL is where an agent looks for the centre by default.
	DefaultNATSURL = "nats://127.0.0.1:4247"
	// DefaultHeartbeat is how often the agent refreshes its registration.
	DefaultHeartbeat = 10 * time.Second
)

// Agent is a configured agent, ready to Run.
type Agent struct {
	o       Options
	names   transport.Names
	reg     *collectors.Registry
	configs map[string]collectors.Config
	log     *slog.Logger
}

// New validates the options and the collector configuration; it reports
// every problem at once and does not touch the network.
func New(o Options) (*Agent, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NATS.IsZero() {
		o.NATS = secret.MustURL(DefaultNATSURL)
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = DefaultHeartbeat
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	var errs []error
	if err := transport.CheckURLs("--nats", o.NATS); err != nil {
		errs = append(errs, err)
	}
	if o.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			errs = append(errs, fmt.Errorf("host name: %w (pass --name)", err))
		}
		o.Name = h
	}
	roles, err := ParseRoles(o.Roles...)
	if err != nil {
		errs = append(errs, err)
	}
	o.Roles = append([]string{}, roles...) // [] rather than null in the registration
	if o.StateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			errs = append(errs, fmt.Errorf("state directory: %w (pass --state)", err))
		}
		o.StateDir = filepath.Join(dir, "crmwatch-agent-state")
	}
	names, err := transport.NewNames(o.Prefix)
	if err != nil {
		errs = append(errs, err)
	}
	reg, err := collectors.NewRegistry(o.Factories...)
	if err != nil {
		return nil, err
	}
	var configs map[string]collectors.Config
	file, err := ReadFile(o.ConfigFile)
	if err != nil {
		errs = append(errs, err)
	} else {
		tc, err := resolveTraceControl(o.TraceControl, file, o.StateDir, o.TraceDirs)
		if err != nil {
			errs = append(errs, err)
		}
		o.TraceControl = tc
		file.SetTraceDirs(o.TraceDirs)
		if configs, err = file.Configs(reg); err != nil {
			errs = append(errs, err)
		} else if err := setOTLP(configs, o.OTLPEndpoint, o.OTLPHeaders); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Agent{o: o, names: names, reg: reg, configs: configs, log: o.Logger.With("component", "agent", "host", o.Name)}, nil
}

// Name is the host name the agent reports.
func (a *Agent) Name() string { return a.o.Name }

// Collectors lists the collector types that will run, sorted.
func (a *Agent) Collectors() []string {
	out := make([]string, 0, len(a.configs))
	for t := range a.configs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// registration is what the agent tells the centre about itself, with what
// the operator must fix: no roles, and every source a collector cannot read.
func (a *Agent) registration(started, now time.Time, stopped bool, sources []collectors.SourceStatus) transport.Registration {
	r := transport.Registration{
		Name: a.o.Name, Roles: a.o.Roles, Version: a.o.Version, OS: runtime.GOOS + "/" + runtime.GOARCH,
		Collectors: a.Collectors(), StartedAt: started, LastHeartbeat: now,
		HeartbeatEvery: a.o.HeartbeatEvery, Stopped: stopped, Sources: sources,
	}
	if len(a.o.Roles) == 0 {
		r.Warnings = append(r.Warnings, transport.WarningNoRoles)
	}
	for _, s := range sources {
		if w := s.Warning(); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r
}
