package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Limits and defaults of a request (the one source of them; the CLI and
// the API show these).
const (
	DefaultCategories = "*:Verbose" // what Microsoft's own collector writes
	DefaultFor        = time.Hour
	MaxFor            = 24 * time.Hour
	MinFor            = time.Second
	MaxReasonLen      = 500
)

// Duration is a time.Duration written as Go text ("1h30m") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 30m, 1h or 4h30m", b)
	}
	*d = Duration(v)
	return nil
}

// Request is what an operator asks for (the body of POST
// /api/v1/trace/settings). Zero values take the defaults above.
type Request struct {
	Target Target `json:"target"`
	// Off turns tracing off (TraceEnabled=0) instead of on.
	Off bool `json:"off,omitempty"`
	// Categories is the TraceCategories value (default *:Verbose).
	Categories string `json:"categories,omitempty"`
	// CallStack writes TraceCallStack=1.
	CallStack bool `json:"call_stack,omitempty"`
	// FileSizeMB is TraceFileSizeLimit, 1–100 (default 5, CRM's default).
	FileSizeMB int `json:"file_size_mb,omitempty"`
	// For is how long the setting holds (default 1h, at most 24h).
	For Duration `json:"for,omitempty"`
	// NoExpiry keeps the setting until it is cleared; admin only.
	NoExpiry bool `json:"no_expiry,omitempty"`
	// Reason is free text such as a ticket number, kept in the audit log.
	Reason string `json:"reason,omitempty"`
}

// Setting is one stored desired setting for a target.
type Setting struct {
	ID         string    `json:"id"`
	Target     Target    `json:"target"`
	Enabled    bool      `json:"enabled"`
	Categories string    `json:"categories,omitempty"`
	CallStack  bool      `json:"call_stack"`
	FileSizeMB int       `json:"file_size_mb,omitempty"`
	SetBy      string    `json:"set_by"`
	SetAt      time.Time `json:"set_at"`
	// Expires is nil for a setting without expiry (admin only).
	Expires *time.Time `json:"expires,omitempty"`
	Reason  string     `json:"reason,omitempty"`
}

// Build checks r and turns it into a Setting made by op at now with id. It
// reports every problem at once; warnings (unknown category names) do not
// stop it.
func (r Request) Build(id, op string, now time.Time) (Setting, []string, error) {
	var errs []error
	var warnings []string
	if err := r.Target.Validate(); err != nil {
		errs = append(errs, err)
	}
	s := Setting{ID: id, Target: r.Target, Enabled: !r.Off, CallStack: r.CallStack, SetBy: op, SetAt: now.UTC(),
		Reason: strings.TrimSpace(r.Reason)}
	if r.Off {
		if r.Categories != "" || r.CallStack || r.FileSizeMB != 0 {
			errs = append(errs, errors.New("--off turns tracing off: leave out --categories, --callstack and --filesize"))
		}
	} else {
		cats := r.Categories
		if strings.TrimSpace(cats) == "" {
			cats = DefaultCategories
		}
		c, err := ParseCategories(cats)
		if err != nil {
			errs = append(errs, err)
		}
		s.Categories, warnings = c.Value, c.Warnings
		s.FileSizeMB = r.FileSizeMB
		if s.FileSizeMB == 0 {
			s.FileSizeMB = DefaultFileSizeMB
		}
		if s.FileSizeMB < MinFileSizeMB || s.FileSizeMB > MaxFileSizeMB {
			errs = append(errs, fmt.Errorf("file size %d MB: TraceFileSizeLimit takes %d to %d", r.FileSizeMB, MinFileSizeMB, MaxFileSizeMB))
		}
	}
	d := time.Duration(r.For)
	switch {
	case r.NoExpiry && d != 0:
		errs = append(errs, errors.New("give either a duration (--for) or --no-expiry, not both"))
	case r.NoExpiry:
	case d == 0:
		s.Expires = Ptr(s.SetAt.Add(DefaultFor))
	case d < MinFor || d > MaxFor:
		errs = append(errs, fmt.Errorf("duration %s: want %s to %s; a setting that must outlive %s needs --no-expiry (admin)", d, MinFor, MaxFor, MaxFor))
	default:
		s.Expires = Ptr(s.SetAt.Add(d))
	}
	if len(s.Reason) > MaxReasonLen || strings.ContainsAny(s.Reason, "\r\n") {
		errs = append(errs, fmt.Errorf("reason: one line of at most %d characters", MaxReasonLen))
	}
	if err := errors.Join(errs...); err != nil {
		return Setting{}, nil, err
	}
	return s, warnings, nil
}

// Expired reports whether the setting's expiry passed at now.
func (s Setting) Expired(now time.Time) bool { return s.Expires != nil && !now.Before(*s.Expires) }

// Values are the registry values the setting writes over found: on, it sets
// every trace value (never an empty one); off, it sets TraceEnabled=0 and
// leaves the rest as found. TraceRefresh is the writer's business.
func (s Setting) Values(found Values) Values {
	v := found
	v.Enabled = Ptr(s.Enabled)
	if s.Enabled {
		v.Categories = Ptr(s.Categories)
		v.CallStack = Ptr(s.CallStack)
		v.FileSizeMB = Ptr(s.FileSizeMB)
	}
	return v
}

// Describe is a one-line summary: "on *:Verbose, call stack, 5 MB" or "off".
func (s Setting) Describe() string {
	if !s.Enabled {
		return "off"
	}
	out := "on " + s.Categories
	if s.CallStack {
		out += ", call stack"
	}
	return fmt.Sprintf("%s, %d MB", out, s.FileSizeMB)
}

// Equal compares two settings by content.
func (s Setting) Equal(o Setting) bool {
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// Resolve returns the setting that applies to m at now: the covering,
// unexpired setting of the most specific scope (host > group > role >
// farm); among several of one scope (two roles, two groups) the one set
// last wins. nil means none applies: the agent restores what it found.
func Resolve(all []Setting, m Member, now time.Time) *Setting {
	var cands []Setting
	for _, s := range all {
		if !s.Expired(now) && s.Target.Covers(m) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if ra, rb := a.Target.Scope.rank(), b.Target.Scope.rank(); ra != rb {
			return ra > rb
		}
		if !a.SetAt.Equal(b.SetAt) {
			return a.SetAt.After(b.SetAt)
		}
		return a.ID > b.ID
	})
	return &cands[0]
}
