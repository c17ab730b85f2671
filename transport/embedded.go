package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure the NATS server the crmwatch server runs in its
// own process.
type EmbeddedOptions struct {
	// Listen is host:port for clients (agents); default 127.0.0.1:4247
	// (not 4222: the machine may already run NATS). Port 0 picks a free one.
	Listen string
	// StoreDir is where JetStream keeps streams and buckets; required, since
	// an unset store dir silently lands in the temp dir.
	StoreDir string
	// SyncInterval is how often JetStream fsyncs; 0 means after every write,
	// which a single-node (R1) install needs so an acknowledged batch survives
	// a power cut.
	SyncInterval time.Duration
	// MaxStore caps JetStream file storage in bytes (0: the server's default,
	// a share of the free disk).
	MaxStore int64
	// TLS, when set, makes clients connect over TLS (in-process
	// connections, such as the crmwatch server's own, need none).
	TLS *tls.Config
	// Users, when set, turns authentication on: only they may connect,
	// agents with exactly AgentPermissions. SetUsers changes them later.
	Users *Users
	// Names are the subjects agents' permissions are built from.
	Names Names
	// ReadyTimeout bounds the wait for the server to accept clients (default 10s).
	ReadyTimeout time.Duration
	Logger       *slog.Logger
}

// DefaultEmbeddedListen is the embedded server's default client address.
const DefaultEmbeddedListen = "127.0.0.1:4247"

// Embedded is a running in-process NATS server with JetStream.
type Embedded struct {
	ns    *natsserver.Server
	base  natsserver.Options // as started, for reloads
	names Names
	mu    sync.Mutex // one reload at a time
}

// StartEmbedded starts the server and waits until it accepts clients.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embedded NATS: StoreDir is required (set the server's --data directory)")
	}
	if o.Listen == "" {
		o.Listen = DefaultEmbeddedListen
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w (write host:port, e.g. %s)", o.Listen, err, DefaultEmbeddedListen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded NATS listen address %q: bad port", o.Listen)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	opts := &natsserver.Options{
		ServerName:        "crmwatch",
		Host:              host,
		Port:              port,
		JetStream:         true,
		StoreDir:          o.StoreDir,
		JetStreamMaxStore: o.MaxStore,
		NoSigs:            true,
		SyncAlways:        o.SyncInterval == 0,
		SyncInterval:      o.SyncInterval,
		TLSConfig:         o.TLS,
		TLS:               o.TLS != nil,
		TLSTimeout:        5,
	}
	base := *opts
	if o.Users != nil {
		opts.Nkeys = o.Users.nkeys(o.Names)
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	ns.SetLoggerV2(&natsLogger{l: o.Logger}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(o.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("embedded NATS on %s not ready within %s (is the port in use? choose another with --nats-listen)", o.Listen, o.ReadyTimeout)
	}
	if port == natsserver.RANDOM_PORT {
		if a, ok := ns.Addr().(*net.TCPAddr); ok {
			base.Port = a.Port // a reload must not ask for another port
		}
	}
	return &Embedded{ns: ns, base: base, names: o.Names}, nil
}

// SetUsers replaces who may connect. Connections of users no longer
// listed (a revoked agent) are closed at once by the NATS server.
func (e *Embedded) SetUsers(u Users) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	opts := e.base
	opts.Nkeys = u.nkeys(e.names)
	if err := e.ns.ReloadOptions(&opts); err != nil {
		return fmt.Errorf("embedded NATS: update users: %w", err)
	}
	return nil
}

// ClientURL is the nats:// URL agents and the server connect to.
func (e *Embedded) ClientURL() string { return e.ns.ClientURL() }

// InProcessConn connects to the server without a socket (nats.InProcessServer):
// the crmwatch server's own connection, which needs neither a port nor TLS.
func (e *Embedded) InProcessConn() (net.Conn, error) { return e.ns.InProcessConn() }

// Shutdown stops the server and waits until JetStream flushed its stores.
func (e *Embedded) Shutdown() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

// natsLogger forwards the NATS server's log to slog. Notices are debug-level:
// the server is an implementation detail of crmwatch.
type natsLogger struct{ l *slog.Logger }

func (n *natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Tracef(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
