package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// compiledScope is a compiled Scope. Host names are kept in ASCII lower
// case so the check is a map lookup on the lower-cased host.
type compiledScope struct {
	hosts       map[string]bool // nil: any host
	except      map[string]bool
	allRoles    []string
	exceptRoles []string
}

func compileScope(s *Scope) (*compiledScope, error) {
	if s == nil {
		return nil, nil
	}
	var errs []error
	hostSet := func(field string, hs []string) map[string]bool {
		if len(hs) == 0 {
			return nil
		}
		m := make(map[string]bool, len(hs))
		for i, h := range hs {
			h = strings.TrimSpace(h)
			if h == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: empty host name", field, i))
				continue
			}
			m[lowerString(h)] = true
		}
		return m
	}
	c := &compiledScope{hosts: hostSet("hosts", s.Hosts), except: hostSet("except_hosts", s.ExceptHosts)}
	roles := func(field string, rs []string) []string {
		var out []string
		for i, r := range rs {
			if r = strings.TrimSpace(r); r == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: empty role", field, i))
				continue
			}
			out = append(out, r)
		}
		return out
	}
	c.allRoles, c.exceptRoles = roles("all_roles", s.AllRoles), roles("except_roles", s.ExceptRoles)
	for _, r := range c.allRoles {
		if slices.ContainsFunc(c.exceptRoles, func(x string) bool { return strings.EqualFold(x, r) }) {
			errs = append(errs, fmt.Errorf("role %q is in both all_roles and except_roles: the rule could never apply", r))
		}
	}
	for h := range c.hosts {
		if c.except[h] {
			errs = append(errs, fmt.Errorf("host %q is in both hosts and except_hosts", h))
		}
	}
	if c.hosts == nil && c.except == nil && len(c.allRoles) == 0 && len(c.exceptRoles) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("empty: set hosts, except_hosts, all_roles or except_roles, or drop scope"))
	}
	return c, errors.Join(errs...)
}

// applies reports whether r applies to an observation from host with the
// observation's role: the rule's roles (any of them) and its scope.
func (e *Engine) applies(r *compiledRule, host, role string) bool {
	return e.roleOK(r, host, role) && e.inScope(r, host, role)
}

// inScope checks r's scope; rules without one cost a nil check.
func (e *Engine) inScope(r *compiledRule, host, role string) bool {
	sc := r.scope
	if sc == nil {
		return true
	}
	if sc.hosts != nil || sc.except != nil {
		e.hostBuf = asciiLower(e.hostBuf[:0], host)
		if sc.hosts != nil && !sc.hosts[string(e.hostBuf)] {
			return false
		}
		if sc.except[string(e.hostBuf)] {
			return false
		}
	}
	for _, want := range sc.allRoles {
		if !e.hasRole(host, role, want) {
			return false
		}
	}
	for _, not := range sc.exceptRoles {
		if e.hasRole(host, role, not) {
			return false
		}
	}
	return true
}

// hasRole reports whether the observation's role or the host's heartbeat
// roles include name.
func (e *Engine) hasRole(host, role, name string) bool {
	want := [1]string{name}
	if role != "" && rolesMatch(want[:], role) {
		return true
	}
	if h := e.hosts[host]; h != nil {
		for _, hr := range h.roles {
			if rolesMatch(want[:], hr) {
				return true
			}
		}
	}
	return false
}

// variantKeySuffix keeps the alerts of a variant apart from those of the
// other definitions of its rule where group_by does not: without host in
// the key, two variants would raise alerts with the same rule and key.
func variantKeySuffix(r *Rule, groupBy []string) string {
	if r.Variant == "" || slices.Contains(groupBy, "host") {
		return ""
	}
	if len(groupBy) == 0 {
		return "variant=" + r.Variant
	}
	return "|variant=" + r.Variant
}
