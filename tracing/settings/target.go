package settings

import (
	"fmt"
	"strings"
)

// Scope is what a setting is aimed at. Precedence: host beats group beats
// role beats farm.
type Scope string

// Scopes, from the widest.
const (
	ScopeFarm  Scope = "farm"
	ScopeRole  Scope = "role"
	ScopeGroup Scope = "group"
	ScopeHost  Scope = "host"
)

// rank orders scopes by precedence (higher wins).
func (s Scope) rank() int {
	switch s {
	case ScopeFarm:
		return 1
	case ScopeRole:
		return 2
	case ScopeGroup:
		return 3
	case ScopeHost:
		return 4
	}
	return 0
}

// Target is one farm, role, server group (as the overrides files define
// them) or host.
type Target struct {
	Scope Scope `json:"scope"`
	// Name is the role, group or host name; empty for the farm.
	Name string `json:"name,omitempty"`
}

// Farm is the whole-farm target.
var Farm = Target{Scope: ScopeFarm}

// String is "farm", "role AppServer", "group tenant-a" or "host CRMAPP01".
func (t Target) String() string {
	if t.Scope == ScopeFarm {
		return string(ScopeFarm)
	}
	return string(t.Scope) + " " + t.Name
}

// Validate checks the scope and that a name is given exactly when needed.
// Whether a role, group or host exists is the server's question.
func (t Target) Validate() error {
	switch t.Scope {
	case ScopeFarm:
		if t.Name != "" {
			return fmt.Errorf("target farm takes no name (got %q)", t.Name)
		}
		return nil
	case ScopeRole, ScopeGroup, ScopeHost:
		if strings.TrimSpace(t.Name) == "" {
			return fmt.Errorf("target %s needs a name", t.Scope)
		}
		if len(t.Name) > 256 || strings.ContainsAny(t.Name, "\r\n\t") {
			return fmt.Errorf("target %s %q: the name must be one line of at most 256 characters", t.Scope, t.Name)
		}
		return nil
	}
	return fmt.Errorf("target scope %q: want farm, role, group or host", t.Scope)
}

// ParseTarget reads the command line's target forms: "all" or "farm",
// "role:NAME", "group:NAME", "host:NAME" (also with '=' or a space).
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "all") || strings.EqualFold(s, "farm") {
		return Farm, nil
	}
	i := strings.IndexAny(s, ":= ")
	if i < 0 {
		return Target{}, fmt.Errorf("target %q: want all, role:NAME, group:NAME or host:NAME", s)
	}
	t := Target{Scope: Scope(strings.ToLower(s[:i])), Name: strings.TrimSpace(s[i+1:])}
	if t.Scope == ScopeFarm {
		return Target{}, fmt.Errorf("target %q: the farm takes no name; write all", s)
	}
	if err := t.Validate(); err != nil {
		return Target{}, fmt.Errorf("target %q: want all, role:NAME, group:NAME or host:NAME (%w)", s, err)
	}
	return t, nil
}

// Member is what decides which targets an agent belongs to.
type Member struct {
	Host   string
	Roles  []string
	Groups []string
}

// Covers reports whether t includes m. Role and group names compare
// case-insensitively, as on the command line; host names too (Windows
// host names are case-insensitive).
func (t Target) Covers(m Member) bool {
	switch t.Scope {
	case ScopeFarm:
		return true
	case ScopeRole:
		return containsFold(m.Roles, t.Name)
	case ScopeGroup:
		return containsFold(m.Groups, t.Name)
	case ScopeHost:
		return strings.EqualFold(m.Host, t.Name)
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
