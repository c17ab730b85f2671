// Package agent is the crmwatch agent process: it registers its host with
// the centre, heartbeats, runs the configured collectors and publishes what
// they collect through JetStream, acknowledged before any collector advances
// its checkpoint.
//
// Collectors come from an explicit registry of factories the caller passes
// in (cmd/crmwatch passes the ones this build has), so the agent can be used
// as a library and tests can run it in-process. The agent knows no
// collector's settings: the config file and --set overrides are decoded by
// each collector, and what the packs ask for the host's roles (a
// collectors.Plan from the centre) is merged in by the collectors that take
// plans; a new plan or new roles swap the affected collectors without a
// restart.
package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"crmwatch/certs"
	"crmwatch/collectors"
	"crmwatch/discovery"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/transport"
)

// Options configure an agent.
type Options struct {
	// NATS are the centre's NATS URLs, comma-separated, nats:// or tls://
	// (default nats://127.0.0.1:4247, the server's embedded NATS). A
	// secret: the URLs may carry credentials.
	NATS secret.URL
	// Creds is the credentials file `crmwatch agents enroll` wrote: the
	// agent's NATS key, and defaults for Name, Roles, NATS and the CA.
	Creds string
	// CA is the PEM file the centre's NATS certificate must chain to
	// ("" uses $CRMWATCH_CA, then the system roots).
	CA string
	// InsecureSkipVerify is refused: an agent that trusts any certificate
	// would hand its data, and its credential's use, to whoever answers.
	InsecureSkipVerify bool
	// Name is the host name reported with every event (default: os.Hostname).
	Name string
	// Roles are this host's CRM roles (event.Role names) and/or "auto",
	// which discovers them (package discovery) and keeps the named ones.
	Roles []string
	// ConfigFile is the YAML file listing collectors (see File); optional.
	ConfigFile string
	// Set are overrides of the config file (--set KEY=VALUE and the
	// --trace-dir/--otlp shortcuts, see Shortcuts), applied in order.
	Set []Override
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
	// RediscoverEvery is how often --roles auto looks for roles again
	// (default DefaultRediscover).
	RediscoverEvery time.Duration
	// Probe reads the Windows registry and services for --roles auto
	// (default discovery.SystemProbe(): nil off Windows).
	Probe discovery.Probe
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
	// DefaultRediscover is how often --roles auto looks again.
	DefaultRediscover = time.Minute
)

// Agent is a configured agent, ready to Run.
type Agent struct {
	o     Options
	names transport.Names
	reg   *collectors.Registry
	spec  roleSpec
	file  File // the config file with the overrides applied
	tls   *tls.Config
	creds *transport.Credentials
	log   *slog.Logger

	mu      sync.Mutex
	configs map[string]collectors.Config // what runs (or will, before Run)
	roles   discovery.Result
	plan    collectors.Plan
	// metricsAddr is where /metrics listens (after Run started it).
	metricsAddr string
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
	if o.RediscoverEvery <= 0 {
		o.RediscoverEvery = DefaultRediscover
	}
	if o.Probe == nil {
		o.Probe = discovery.SystemProbe()
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	var errs []error
	var creds *transport.Credentials
	if o.Creds != "" {
		c, err := transport.ReadCredentials(o.Creds)
		if err != nil {
			errs = append(errs, fmt.Errorf("--creds: %w", err))
		} else {
			creds = &c
			errs = append(errs, o.fromCreds(c))
		}
	}
	if err := transport.CheckURLs("--nats", o.NATS); err != nil {
		errs = append(errs, err)
	}
	if o.InsecureSkipVerify {
		errs = append(errs, fmt.Errorf("--insecure-skip-verify is refused for the agent: it would ship this host's data to anyone answering in the centre's name; pass the centre's CA with --ca FILE or %s", certs.EnvCA))
	}
	co := certs.ClientOptions{CAFile: o.CA}
	if creds != nil {
		co.CAPEM = []byte(creds.CA)
	}
	tlsCfg, err := certs.ClientConfig(co)
	if err != nil {
		errs = append(errs, err)
	}
	if o.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			errs = append(errs, fmt.Errorf("host name: %w (pass --name)", err))
		}
		o.Name = h
	}
	spec, err := parseRoleSpec(o.Roles...)
	if err != nil {
		errs = append(errs, err)
	}
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
	a := &Agent{o: o, names: names, reg: reg, spec: spec, tls: tlsCfg, creds: creds, log: o.Logger.With("component", "agent", "host", o.Name)}
	file, err := ReadFile(o.ConfigFile)
	if err != nil {
		errs = append(errs, err)
	} else if err := file.Apply(o.Set); err != nil {
		errs = append(errs, err)
	} else {
		if _, err := file.spoolMaxBytes(); err != nil {
			errs = append(errs, err)
		}
		if a.configs, err = file.Configs(reg, collectors.Plan{}); err != nil {
			errs = append(errs, err)
		}
		tc, err := resolveTraceControl(o.TraceControl, file, o.StateDir, traceDirectories(a.configs))
		if err != nil {
			errs = append(errs, err)
		}
		a.o.TraceControl = tc
	}
	a.file = file
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return a, nil
}

// fromCreds takes what the options leave open from the credentials file;
// a --name other than the one enrolled is an error, since the centre would
// refuse every subject of that name.
func (o *Options) fromCreds(c transport.Credentials) error {
	if o.Name == "" {
		o.Name = c.Name
	} else if transport.SubjectToken(o.Name) != transport.SubjectToken(c.Name) {
		return fmt.Errorf("--name %q: the credentials in %s are for %q, and the centre refuses anything else; drop --name or enroll this name", o.Name, o.Creds, c.Name)
	}
	if len(o.Roles) == 0 {
		o.Roles = c.Roles
	}
	if (o.NATS.IsZero() || o.NATS.Reveal() == DefaultNATSURL) && c.NATS != "" {
		o.NATS, _ = secret.ParseURL(c.NATS) // checked when the file was read
	}
	return nil
}

// traceDirectories are the folders of the collectors that follow CRM
// trace files, in type order (the first one is trace control's folder).
func traceDirectories(configs map[string]collectors.Config) []string {
	var out []string
	for _, typ := range sortedTypes(configs) {
		if td, ok := configs[typ].(collectors.TraceDirectories); ok {
			dirs, _ := td.TraceDirectories()
			out = append(out, dirs...)
		}
	}
	return out
}

// Name is the host name the agent reports.
func (a *Agent) Name() string { return a.o.Name }

// Collectors lists the collector types that run (or will run at start:
// the ones the file and overrides enable), sorted.
func (a *Agent) Collectors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedTypes(a.configs)
}

// MetricsAddr is the address /metrics listens on once Run started it
// ("" before, or without MetricsListen).
func (a *Agent) MetricsAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.metricsAddr
}

// Roles are the roles the agent announces, with how each was found.
func (a *Agent) Roles() discovery.Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.roles
}

// registration is what the agent tells the centre about itself, with what
// the operator must fix: no roles, and every source a collector cannot read.
func (a *Agent) registration(started, now time.Time, stopped bool, sources []collectors.SourceStatus) transport.Registration {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := transport.Registration{
		Name: a.o.Name, Roles: event.RoleStrings(a.roles.Roles()), RoleFindings: roleFindings(a.roles),
		DiscoveryNotes: a.roles.Notes, Packs: a.plan.Packs,
		Version: a.o.Version, OS: runtime.GOOS + "/" + runtime.GOARCH,
		Collectors: sortedTypes(a.configs), StartedAt: started, LastHeartbeat: now,
		HeartbeatEvery: a.o.HeartbeatEvery, Stopped: stopped, Sources: sources,
	}
	r.RolesNone = a.spec.none
	if len(a.roles.Findings) == 0 && !a.spec.none {
		r.Warnings = append(r.Warnings, transport.WarningNoRoles)
	}
	for _, s := range sources {
		if w := s.Warning(); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r
}
