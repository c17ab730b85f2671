package suppress

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"crmwatch/alerts"
)

// Silence mutes alerts whose labels match every matcher, from Start until
// End (or until expired early).
type Silence struct {
	ID        string     `json:"id"`
	Matchers  []Matcher  `json:"matchers"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	Comment   string     `json:"comment"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// Labels a matcher may name.
var Labels = []string{"rule", "host", "role", "group", "organization", "severity"}

// Matcher is label=value, label!=value, label=~regexp or label!~regexp.
// Host, role, group and organization are lists on an alert: = and =~ hold
// when any value matches, != and !~ when none does.
type Matcher struct {
	Label string `json:"label"`
	Op    string `json:"op"` // =, !=, =~, !~
	Value string `json:"value"`
	re    *regexp.Regexp
}

// MaxMatcher bounds a matcher's text.
const MaxMatcher = 1024

// ParseMatcher reads one matcher.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxMatcher {
		return Matcher{}, fmt.Errorf("matcher is %d bytes; at most %d", len(s), MaxMatcher)
	}
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEXP or LABEL!~REGEXP (labels: %s)", s, strings.Join(Labels, ", "))
	}
	m := Matcher{Label: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if v, ok := strings.CutPrefix(rest, op); ok {
			m.Op, m.Value = op, strings.TrimSpace(v)
			break
		}
	}
	if m.Op == "" {
		return Matcher{}, fmt.Errorf("matcher %q: unknown operator (want =, !=, =~ or !~)", s)
	}
	return m, m.compile()
}

func (m *Matcher) compile() error {
	if !slices.Contains(Labels, m.Label) {
		return fmt.Errorf("matcher label %q: want one of %s", m.Label, strings.Join(Labels, ", "))
	}
	switch m.Op {
	case "=", "!=":
	case "=~", "!~":
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return fmt.Errorf("matcher %s%s%s: bad regular expression: %w", m.Label, m.Op, m.Value, err)
		}
		m.re = re
	default:
		return fmt.Errorf("matcher %s: unknown operator %q", m.Label, m.Op)
	}
	return nil
}

// String renders the matcher as it is written.
func (m Matcher) String() string { return m.Label + m.Op + m.Value }

func (m *Matcher) matches(values []string) bool {
	any := false
	for _, v := range values {
		var hit bool
		if m.re != nil {
			hit = m.re.MatchString(v)
		} else {
			hit = strings.EqualFold(v, m.Value)
		}
		if hit {
			any = true
			break
		}
	}
	if m.Op == "=" || m.Op == "=~" {
		return any
	}
	return !any
}

// Validate reports every problem at once and compiles the matchers.
func (s *Silence) Validate() error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("a silence needs at least one matcher (e.g. host=CRMAPP01)"))
	}
	for i := range s.Matchers {
		if err := s.Matchers[i].compile(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.End.IsZero() || !s.End.After(s.Start) {
		errs = append(errs, errors.New("a silence needs an end after its start (e.g. --for 2h)"))
	}
	if strings.TrimSpace(s.Comment) == "" {
		errs = append(errs, errors.New("a silence needs a comment saying why"))
	}
	return errors.Join(errs...)
}

// Active reports whether the silence mutes at now.
func (s *Silence) Active(now time.Time) bool {
	end := s.End
	if s.ExpiredAt != nil && s.ExpiredAt.Before(end) {
		end = *s.ExpiredAt
	}
	return !now.Before(s.Start) && now.Before(end)
}

func (s *Silence) matches(a *alerts.Alert, hi HostInfo) bool {
	for i := range s.Matchers {
		m := &s.Matchers[i]
		if m.re == nil && (m.Op == "=~" || m.Op == "!~") {
			if m.compile() != nil {
				return false
			}
		}
		if !m.matches(labelValues(m.Label, a, hi)) {
			return false
		}
	}
	return true
}

// MatchAlert reports whether the alert's label values satisfy the matcher
// (notification routes use it); hi gives hosts' roles and groups.
func (m *Matcher) MatchAlert(a *alerts.Alert, hi HostInfo) bool {
	if m.re == nil && (m.Op == "=~" || m.Op == "!~") && m.compile() != nil {
		return false
	}
	return m.matches(labelValues(m.Label, a, hi))
}

func labelValues(label string, a *alerts.Alert, hi HostInfo) []string {
	switch label {
	case "rule":
		return []string{a.Rule}
	case "host":
		return a.Hosts
	case "organization":
		return a.Organizations
	case "severity":
		return []string{string(a.Severity)}
	}
	var out []string
	for _, h := range a.Hosts {
		if hi == nil {
			break
		}
		if label == "role" {
			out = append(out, hi.Roles(h)...)
		} else {
			out = append(out, hi.Groups(h)...)
		}
	}
	return out
}
