// Package server is the crmwatch server process: the alerts store, the NATS
// transport (embedded by default), the rules engine fed from JetStream, agent
// registrations, and the HTTP API with /metrics. It starts the parts in
// dependency order and stops them in reverse, supervised by one run group.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	notifyconfig "crmwatch/notify/config"
	"crmwatch/secret"
	"crmwatch/store/sqlstore"
	"crmwatch/transport"
)

// Defaults (the one source of them; the command line shows these).
const (
	DefaultListen     = "127.0.0.1:9470"
	DefaultNATS       = "embedded"
	DefaultNATSListen = transport.DefaultEmbeddedListen
	DefaultStore      = "sqlite"
	DefaultTickEvery  = time.Second
)

// Options configure a server.
type Options struct {
	// DataDir holds the SQLite store and the embedded NATS store (default
	// crmwatch-data).
	DataDir string
	// Listen is the HTTP API address (default 127.0.0.1:9470; port 0 picks one).
	Listen string
	// NATS is "embedded" (default) or comma-separated nats:// URLs of an
	// existing NATS (2.9 or later with JetStream). A secret: the URLs may
	// carry credentials.
	NATS secret.URL
	// NATSListen is the embedded NATS client address (default 127.0.0.1:4247).
	NATSListen string
	// NATSSyncInterval is the embedded JetStream fsync interval; 0 syncs
	// every write, which a single-node install needs to keep acknowledged
	// batches over a power cut.
	NATSSyncInterval time.Duration
	// Store is "sqlite" (default: DataDir/crmwatch.db), a SQLite path, or a
	// postgres:// URL. A secret: the URL may carry a password.
	Store secret.URL
	// PackDirs are extra packs loaded on top of the built-in CRM pack.
	PackDirs []string
	// Overrides are operators' overrides files (docs/packs.md §4), applied
	// per host, group and role as packs.FarmRules resolves them.
	Overrides []string
	// Prefix names the NATS streams and buckets (default "crmwatch");
	// tests sharing one NATS use distinct prefixes.
	Prefix string
	// TickEvery drives time-based rules (resolve-after, missing data).
	TickEvery time.Duration
	// LeaseTTL is how long the evaluator role stays with a server that
	// stopped renewing it (a crash) before another takes over (default 10s).
	LeaseTTL time.Duration
	// StreamMaxBytes caps each JetStream stream (default 1 GiB; -1 no
	// limit). JetStream reserves it from its storage budget at creation.
	StreamMaxBytes int64
	// HTTP bounds the API server's connections (DefaultHTTPLimits).
	HTTP HTTPLimits
	// NATSCreds is the credentials file the server authenticates to an
	// external NATS with (`crmwatch agents nats-config --server-creds FILE`
	// writes it); the embedded NATS gives the server a key of its own.
	NATSCreds string
	// NATSAuth is "none" (default: any client of the embedded NATS may do
	// anything, as the loopback demo needs) or "creds": only this server
	// and enrolled agents connect, each agent limited to its own host's
	// subjects (transport.Names.AgentPermissions).
	NATSAuth string
	// TLS serves the HTTP API over HTTPS and the embedded NATS over TLS
	// (off by default: plain loopback, as the demo uses).
	TLS TLSOptions
	// OrgNames is a file naming organizations (GUID → display name; see
	// alerts/orgs) shown beside their GUIDs.
	OrgNames string
	// CapacityReports writes capacity reports to a folder on a schedule.
	CapacityReports CapacityReports
	// Notify configures notifications: receivers and routes (the notify
	// section of --config) and the shortcuts' receivers (AddShortcut).
	Notify notifyconfig.Section
	// SessionTTL is how long a console sign-in lasts (default 12h).
	SessionTTL time.Duration
	Version    string
	Logger     *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.DataDir == "" {
		o.DataDir = sqlstore.DefaultDataDir
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if strings.TrimSpace(o.NATS.Reveal()) == "" {
		o.NATS = secret.MustURL(DefaultNATS)
	}
	if o.NATSListen == "" {
		o.NATSListen = DefaultNATSListen
	}
	if strings.TrimSpace(o.Store.Reveal()) == "" {
		o.Store = secret.MustURL(DefaultStore)
	}
	if o.TickEvery <= 0 {
		o.TickEvery = DefaultTickEvery
	}
	if o.NATSAuth == "" {
		o.NATSAuth = NATSAuthNone
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = transport.DefaultStreamLimits().LeaseTTL
	}
	o.HTTP = o.HTTP.withDefaults()
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// embedded reports whether the server runs its own NATS.
func (o Options) embedded() bool {
	return strings.EqualFold(strings.TrimSpace(o.NATS.Reveal()), DefaultNATS)
}

// storeDSN resolves "sqlite" to the file in the data directory. It is the
// text the store dials: never log it (storeName is for that).
func (o Options) storeDSN() string {
	if strings.EqualFold(strings.TrimSpace(o.Store.Reveal()), DefaultStore) {
		return sqlstore.DataDirDSN(o.DataDir)
	}
	return o.Store.Reveal()
}

// storeName names the store without credentials, for logs.
func (o Options) storeName() string {
	if d, err := sqlstore.ParseDSN(o.storeDSN()); err == nil {
		return d.String()
	}
	return o.Store.String()
}

// usesDataDir reports whether the server keeps anything in DataDir: the
// embedded NATS store or the default SQLite file. Only then does it lock
// the directory.
func (o Options) usesDataDir() bool {
	return o.embedded() || strings.EqualFold(strings.TrimSpace(o.Store.Reveal()), DefaultStore)
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w (write host:port, e.g. %s)", o.Listen, err, DefaultListen))
	}
	if o.embedded() {
		if _, _, err := net.SplitHostPort(o.NATSListen); err != nil {
			errs = append(errs, fmt.Errorf("--nats-listen %q: %w (write host:port, e.g. %s)", o.NATSListen, err, DefaultNATSListen))
		}
	} else if err := transport.CheckURLs("--nats", o.NATS); err != nil {
		errs = append(errs, fmt.Errorf(`%w (or "embedded" for the server's own NATS)`, err))
	}
	if _, err := sqlstore.ParseDSN(o.storeDSN()); err != nil {
		errs = append(errs, fmt.Errorf("--store: %w", err))
	}
	if o.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("--session-ttl %s is negative: give how long a console sign-in lasts, e.g. 12h", o.SessionTTL))
	}
	if _, err := transport.NewNames(o.Prefix); err != nil {
		errs = append(errs, err)
	}
	if o.StreamMaxBytes < -1 || o.StreamMaxBytes > 0 && o.StreamMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("--stream-max-bytes %d: write -1 (no limit) or at least 1MiB (default 1GiB)", o.StreamMaxBytes))
	}
	errs = append(errs, o.TLS.validate()...)
	switch o.NATSAuth {
	case NATSAuthNone:
	case NATSAuthCreds:
		if !o.embedded() {
			errs = append(errs, errors.New("--nats-auth creds applies to the embedded NATS; an external NATS enforces its own configuration (crmwatch agents nats-config prints it; see docs/security.md)"))
		}
	default:
		errs = append(errs, fmt.Errorf("--nats-auth %q: want none or creds", o.NATSAuth))
	}
	if o.NATSCreds != "" && o.embedded() {
		errs = append(errs, errors.New("--nats-creds is for an external NATS (--nats URLS); with the embedded NATS the server uses a key of its own"))
	}
	for _, d := range o.PackDirs {
		if d == "" {
			errs = append(errs, errors.New("--packs: empty directory name"))
		}
	}
	kinds := map[string]string{}
	for _, r := range o.Notify.Receivers {
		kinds[r.Name] = r.Kind()
	}
	if err := o.CapacityReports.validate(kinds); err != nil {
		errs = append(errs, err)
	}
	for _, f := range o.Overrides {
		if f == "" {
			errs = append(errs, errors.New("--overrides: empty file name"))
		}
	}
	if err := o.Notify.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TLSOptions choose the server's certificate: Mode "auto" keeps a private CA
// and a server certificate in <data>/tls (created once, reused on restart),
// or CertFile and KeyFile name the operator's own PEM files.
type TLSOptions struct {
	// Mode is "" (CertFile/KeyFile, or no TLS when they are empty) or "auto".
	Mode     string
	CertFile string
	KeyFile  string
}

// TLSAuto is the --tls value that creates a private CA.
const TLSAuto = "auto"

// enabled reports whether the server serves TLS.
func (t TLSOptions) enabled() bool { return t.Mode != "" || t.CertFile != "" || t.KeyFile != "" }

func (t TLSOptions) validate() []error {
	var errs []error
	switch {
	case t.Mode != "" && t.Mode != TLSAuto:
		errs = append(errs, fmt.Errorf("--tls %q: the only value is auto (a private CA in <data>/tls); give your own certificate with --tls-cert and --tls-key", t.Mode))
	case t.Mode == TLSAuto && (t.CertFile != "" || t.KeyFile != ""):
		errs = append(errs, errors.New("--tls auto and --tls-cert/--tls-key exclude each other: choose the private CA or your own certificate"))
	case t.Mode == "" && (t.CertFile == "") != (t.KeyFile == ""):
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both (PEM certificate chain and its unencrypted key)"))
	}
	return errs
}

func (o Options) tlsDir() string { return filepath.Join(o.DataDir, "tls") }

func (o Options) natsStoreDir() string { return filepath.Join(o.DataDir, "nats") }
