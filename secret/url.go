package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// URL is a URL that may carry credentials: a password in its user info
// (postgres://u:PASSWORD@h/db, nats://u:PASSWORD@h:4222), a token as the
// whole user info (nats://TOKEN@h), or a credential in its query
// (?password=…, ?token=…). String shows the URL with those replaced by
// Redacted; Reveal gives the whole URL for the one call that dials it.
type URL struct{ v Value }

// sensitiveQuery are query parameters whose values are credentials.
var sensitiveQuery = []string{"password", "passwd", "pass", "pwd", "token", "secret", "key", "apikey", "api_key", "sslpassword", "access_token"}

// ParseURL wraps s. It accepts anything url.Parse accepts; errors never
// repeat the input.
func ParseURL(s string) (URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return URL{}, nil
	}
	if _, err := url.Parse(s); err != nil {
		return URL{}, errors.New("malformed URL (the text is not repeated here because it may hold a password)")
	}
	return URL{New(s)}, nil
}

// MustURL is ParseURL for constants and tests.
func MustURL(s string) URL {
	u, err := ParseURL(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Reveal returns the URL with its credentials.
func (u URL) Reveal() string { return u.v.Reveal() }

// IsZero reports whether no URL was given.
func (u URL) IsZero() bool { return u.v.IsZero() }

// HasCredentials reports whether the URL carries user info or a
// sensitive query parameter.
func (u URL) HasCredentials() bool { return RedactURL(u.Reveal()) != u.Reveal() }

// String is the URL with credentials redacted.
func (u URL) String() string { return RedactURL(u.Reveal()) }

// GoString keeps %#v redacted.
func (u URL) GoString() string { return "secret.URL{" + u.String() + "}" }

// Format makes every fmt verb print String.
func (u URL) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, u.GoString()) //nolint:errcheck // fmt.State writes cannot be reported
		return
	}
	io.WriteString(f, u.String()) //nolint:errcheck
}

// LogValue makes slog print the redacted form.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalJSON writes the redacted form.
func (u URL) MarshalJSON() ([]byte, error) { return json.Marshal(u.String()) }

// MarshalText writes the redacted form.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// MarshalYAML writes the redacted form.
func (u URL) MarshalYAML() (any, error) { return u.String(), nil }

// UnmarshalJSON reads a JSON string.
func (u *URL) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("secret URL: want a JSON string (%s)", jsonKind(b))
	}
	v, err := ParseURL(s)
	*u = v
	return err
}

// UnmarshalYAML reads a YAML scalar.
func (u *URL) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a URL string", n.Line)
	}
	v, err := ParseURL(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*u = v
	return nil
}

// Set implements pflag.Value. It never fails: pflag repeats a refused
// value in its error ("invalid argument %q for --flag"), which would print
// the password of a URL that does not parse. The text is kept as given
// (String prints "[redacted]" for text that does not parse and holds an
// '@'); the code that dials it reports the malformed URL without repeating
// it.
func (u *URL) Set(s string) error {
	*u = URL{New(strings.TrimSpace(s))}
	return nil
}

// Type names the flag's value in help text.
func (u *URL) Type() string { return "url" }

// RedactURL returns s with the password (or a bare user-info token) and
// sensitive query values replaced by Redacted. Text that does not parse as
// a URL with a scheme is returned as "[redacted]" when it contains '@', so
// a malformed DSN never leaks either. Comma-separated URL lists (NATS
// server lists) are redacted element by element.
func RedactURL(s string) string {
	if strings.Contains(s, ",") && strings.Contains(s, "://") {
		parts := strings.Split(s, ",")
		for i, p := range parts {
			parts[i] = RedactURL(p)
		}
		return strings.Join(parts, ",")
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" {
		if strings.Contains(s, "@") {
			return Redacted
		}
		return s
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Redacted)
		} else if u.User.Username() != "" && !strings.HasPrefix(strings.ToLower(u.Scheme), "postgres") {
			// nats://TOKEN@host: the whole user info is the credential.
			u.User = url.User(Redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			if isSensitive(k) {
				q[k] = []string{Redacted}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	out := u.String()
	if u.User == nil && strings.Contains(out, "@") {
		return Redacted // credentials where no user info is parsed (nats:/u:pw@h)
	}
	// url.String escapes the brackets; keep the marker readable.
	return strings.NewReplacer("%5Bredacted%5D", Redacted, "%5bredacted%5d", Redacted).Replace(out)
}

func isSensitive(k string) bool {
	k = strings.ToLower(k)
	for _, s := range sensitiveQuery {
		if k == s {
			return true
		}
	}
	return false
}

// Credentials returns the secret parts of the URL — the password or bare
// user-info token and the sensitive query values — for Scrub, when text a
// peer sent back may repeat them.
func (u URL) Credentials() []Value {
	p, err := url.Parse(strings.TrimSpace(u.Reveal()))
	if err != nil {
		return []Value{u.v}
	}
	var out []Value
	if p.User != nil {
		if pw, has := p.User.Password(); has {
			out = append(out, New(pw))
		} else {
			out = append(out, New(p.User.Username()))
		}
	}
	for k, vs := range p.Query() {
		if isSensitive(k) {
			for _, v := range vs {
				out = append(out, New(v))
			}
		}
	}
	return out
}

// CheckHTTP reports, without repeating the URL's secrets, what is wrong
// with u as the http:// or https:// address of a setting named url;
// example shows what to write when it is missing.
func (u URL) CheckHTTP(example string) error {
	if u.IsZero() {
		return fmt.Errorf("url: required (%s)", example)
	}
	if p, err := url.Parse(u.Reveal()); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("url %s: want an http:// or https:// URL with a host", u)
	}
	return nil
}
