package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
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
	Logger    *slog.Logger
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
	if len(urls) == 0 {
		return nil, errors.New("no NATS URL given (use --nats nats://host:4222[,nats://host2:4222])")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
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
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS asynchronous error", "err", err)
		}),
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w (is the crmwatch server or NATS running there?)", redactURLs(urls), err)
	}
	return nc, nil
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
