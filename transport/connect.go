package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"crmwatch/certs"
	"crmwatch/secret"
)

// ConnectOptions configure a client connection.
type ConnectOptions struct {
	// URLs are nats:// URLs, comma-separated entries allowed.
	URLs []string
	// Name identifies the client in the server's monitoring (e.g. "crmwatch-agent host1").
	Name string
	// WaitFirst makes Connect fail when no server answers at once. Without
	// it (agents) the connection is returned immediately and keeps trying in
	// the background, so an agent starts while the centre is down.
	WaitFirst bool
	// InProcess connects to an embedded server without a socket; URLs are
	// then only for the logs.
	InProcess nats.InProcessConnProvider
	// TLS verifies the server of tls:// URLs and of nats:// URLs whose
	// server requires TLS; nil uses the system roots.
	TLS *tls.Config
	// Key authenticates with a NATS user key (an enrolled agent, the
	// crmwatch server); nil connects without.
	Key *UserKey
	// InboxPrefix replaces _INBOX for reply subjects (an agent may only
	// subscribe below Names.InboxPrefix of its host).
	InboxPrefix string
	// CAFile names the CA behind TLS, for messages only.
	CAFile string
	// RequireTLS refuses a server that does not offer TLS.
	RequireTLS bool
	Logger     *slog.Logger
}

// SplitURLs splits comma-separated URL lists and drops empty entries.
func SplitURLs(in ...string) []string {
	var out []string
	for _, s := range in {
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

// Connect opens a connection that reconnects forever. The reconnect buffer
// is disabled on purpose: a publish during an outage fails at once and the
// Publisher retries it with backoff, instead of sitting in a client buffer
// that a crash would lose.
func Connect(o ConnectOptions) (*nats.Conn, error) {
	urls := SplitURLs(o.URLs...)
	if len(urls) == 0 && o.InProcess == nil {
		return nil, errors.New("no NATS URL given (use --nats nats://host:4222[,nats://host2:4222])")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &connState{}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.RetryOnFailedConnect(!o.WaitFirst),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS connection lost; retrying", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			// Every failed attempt lands here; say why once per change,
			// not every second. The first failure of an agent starting
			// while the centre is down only says "no servers": the probe
			// below gave the reason already.
			if errors.Is(err, nats.ErrNoServers) {
				return
			}
			if p := describeTLS(err, o.CAFile); st.set(p) {
				log.Warn("cannot connect to NATS; retrying every second", "problem", p)
			}
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			st.set("")
			log.Info("NATS connected", "url", secret.RedactURL(nc.ConnectedUrl())) // the client's own redaction keeps a token
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			st.set("")
			log.Info("NATS reconnected", "url", secret.RedactURL(nc.ConnectedUrl()))
		}),
		nats.ClosedHandler(func(nc *nats.Conn) { conns.Delete(nc) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS asynchronous error", "err", err)
		}),
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	if o.Key != nil {
		opts = append(opts, o.Key.option())
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	if o.TLS != nil {
		cfg := o.TLS
		opts = append(opts, func(no *nats.Options) error { no.TLSConfig = cfg; return nil })
	}
	if o.RequireTLS {
		opts = append(opts, func(no *nats.Options) error { no.Secure = true; return nil })
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", redactURLs(urls), describedError{err, o.CAFile})
	}
	conns.Store(nc, st)
	if !o.WaitFirst && !nc.IsConnected() {
		if p := probe(urls); p != "" && st.set(p) {
			log.Warn("cannot connect to NATS; retrying every second", "problem", p)
		}
	}
	return nc, nil
}

// probe dials the URLs' addresses once to say why the first connection
// failed (the client reports only "no servers available"); "" when every
// address answers. A silent address costs at most probeTimeout.
func probe(urls []string) string {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "4222" // the NATS client's default
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hostname(), port), probeTimeout)
		if err != nil {
			return DescribeConnectError(err)
		}
		c.Close()
	}
	return ""
}

const probeTimeout = 2 * time.Second

// connState is what a connection's callbacks learned: why the last attempt
// to connect failed ("" while connected).
type connState struct {
	mu      sync.Mutex
	problem string
}

// set records p and reports whether it differs from the last one.
func (s *connState) set(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.problem != p
	s.problem = p
	return changed
}

func (s *connState) get() string { s.mu.Lock(); defer s.mu.Unlock(); return s.problem }

// describedError shows DescribeConnectError's text and unwraps to the cause.
type describedError struct {
	err    error
	caFile string
}

func (d describedError) Error() string { return describeTLS(d.err, d.caFile) }

// describeTLS says what to do about a refused certificate (naming the CA
// file that did not vouch for it), else what DescribeConnectError says.
func describeTLS(err error, caFile string) string {
	if e := certs.Explain(err, caFile); e != err {
		return "NATS: " + e.Error()
	}
	return DescribeConnectError(err)
}
func (d describedError) Unwrap() error { return d.err }

// conns maps each open connection made by Connect to its state, for Explain.
var conns sync.Map

// DescribeConnectError says why a connection attempt failed and what to
// check: "connection refused at 127.0.0.1:4999: is the crmwatch server
// running, and is this its --nats-listen address?".
func DescribeConnectError(err error) string {
	addr := "the NATS address"
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		addr = op.Addr.String()
	}
	var dns *net.DNSError
	var ne net.Error
	switch {
	case isRefused(err):
		return fmt.Sprintf("connection refused at %s: is the crmwatch server running, and is this its --nats-listen address?", addr)
	case errors.As(err, &dns):
		return fmt.Sprintf("host %s not found: check the host name in --nats", dns.Name)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer from %s in time: check the address, and that no firewall drops the connection", addr)
	case errors.Is(err, nats.ErrNoServers):
		return "no NATS server answered: is the crmwatch server running, and is --nats its --nats-listen address?"
	}
	return err.Error()
}

// Explain rewrites an error of an operation on nc when the cause is that nc
// is not connected: the client then only says "outbound buffer limit
// exceeded" (the reconnect buffer is off on purpose), which names neither
// the server nor the reason. Other errors are returned as they are.
func Explain(nc *nats.Conn, err error) error {
	if err == nil || nc == nil || nc.IsConnected() {
		return err
	}
	p := "the connection is being set up"
	if v, ok := conns.Load(nc); ok {
		if s := v.(*connState).get(); s != "" {
			p = s
		}
	}
	return fmt.Errorf("not connected to NATS: %s", p)
}

// redactURLs hides passwords and tokens embedded in URLs.
func redactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				u = u[:s+3] + "***" + u[at:]
			}
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}
