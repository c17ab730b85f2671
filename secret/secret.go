// Package secret carries passwords, keys, tokens and credential-bearing
// URLs from the flag or config boundary to the one call that needs them.
// Every way of printing a value — String, every fmt verb, JSON, YAML, text,
// slog — shows a redacted form; Reveal is the only way to the text, so a
// grep for Reveal finds every place a secret leaves the process.
//
// Parse secrets into these types where they enter (flag.Value, YAML and
// JSON decoding are implemented) and keep them typed: a string copy is a
// secret that can leak.
package secret

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted is what every printed secret looks like.
const Redacted = "[redacted]"

// Value is a secret string. The text sits in a closure, which neither
// reflection nor fmt's struct printing can look into, so a Value nested in
// an unexported field still never prints.
type Value struct{ s func() string }

// New wraps s.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{func() string { return s }}
}

// Reveal returns the secret text; call it only to put it on the wire.
func (v Value) Reveal() string {
	if v.s == nil {
		return ""
	}
	return v.s()
}

// IsZero reports whether no secret was given.
func (v Value) IsZero() bool { return v.s == nil }

// String shows Redacted, or "" when there is no secret (so "not set" stays
// visible in configuration dumps).
func (v Value) String() string {
	if v.s == nil {
		return ""
	}
	return Redacted
}

// GoString keeps %#v redacted.
func (v Value) GoString() string { return "secret.Value{" + v.String() + "}" }

// Format makes every fmt verb print String.
func (v Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, v.GoString()) //nolint:errcheck // fmt.State writes cannot be reported
		return
	}
	io.WriteString(f, v.String()) //nolint:errcheck
}

// LogValue makes slog print the redacted form.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalJSON writes the redacted form.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// MarshalText writes the redacted form.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// MarshalYAML writes the redacted form.
func (v Value) MarshalYAML() (any, error) { return v.String(), nil }

// UnmarshalJSON reads a JSON string.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("secret: want a JSON string (%s)", jsonKind(b))
	}
	*v = New(s)
	return nil
}

// UnmarshalYAML reads a YAML scalar; errors never repeat the input.
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: secret: want a string", n.Line)
	}
	*v = New(n.Value)
	return nil
}

// Set implements pflag.Value (and flag.Value).
func (v *Value) Set(s string) error { *v = New(s); return nil }

// Type names the flag's value in help text.
func (v *Value) Type() string { return "secret" }

func jsonKind(b []byte) string {
	switch t := strings.TrimSpace(string(b)); {
	case t == "":
		return "empty"
	case t[0] == '{':
		return "got an object"
	case t[0] == '[':
		return "got an array"
	default:
		return "got a non-string"
	}
}

// Scrub replaces every occurrence of the given secrets in s by Redacted:
// for error texts of libraries that echo what they were given.
func Scrub(s string, vs ...Value) string {
	for _, v := range vs {
		if t := v.Reveal(); len(t) >= 3 {
			s = strings.ReplaceAll(s, t, Redacted)
		}
	}
	return s
}
