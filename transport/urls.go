package transport

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"crmwatch/secret"
)

// CheckURLs checks the NATS URLs a --nats flag gave (comma-separated): each
// needs the nats:// or tls:// scheme and a host, so an http:// address (the
// server's HTTP API) or a bare host:port is refused at start instead of
// failing later with an obscure client error. Errors name the flag and the
// URL with its credentials redacted, and report every problem at once.
func CheckURLs(flag string, list secret.URL) error {
	urls := SplitURLs(list.Reveal())
	if len(urls) == 0 {
		return fmt.Errorf("%s: no NATS URL given (want nats://HOST:PORT[,nats://HOST2:PORT])", flag)
	}
	var errs []error
	for _, raw := range urls {
		shown := secret.RedactURL(raw)
		if !strings.Contains(raw, "://") {
			errs = append(errs, fmt.Errorf("%s %q: no scheme; write nats://%s", flag, shown, shownHost(raw)))
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: not a valid URL (want nats://HOST:PORT)", flag, shown))
			continue
		}
		switch strings.ToLower(u.Scheme) {
		case "nats", "tls":
		default:
			errs = append(errs, fmt.Errorf("%s %q: scheme %s:// is not nats:// or tls://; give the crmwatch server's NATS address (its --nats-listen, default nats://HOST:4247), not its HTTP API",
				flag, shown, u.Scheme))
			continue
		}
		if u.Hostname() == "" {
			errs = append(errs, fmt.Errorf("%s %q: no host (want nats://HOST:PORT)", flag, shown))
		}
	}
	return errors.Join(errs...)
}

// shownHost is what follows user info in a scheme-less address, for the
// "write nats://…" hint, without credentials.
func shownHost(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		return raw[at+1:]
	}
	return raw
}
