package rules

import (
	"slices"
	"strings"

	"crmwatch/event"
)

// anyRole reports whether roles name every CRM role. Such a rule applies
// to every CRM server, so it applies to a host whose roles are unknown (an
// agent started without --roles) as well: compile drops the role list.
func anyRole(roles []string) bool {
	for _, want := range event.Roles {
		if !slices.ContainsFunc(roles, func(r string) bool { return strings.EqualFold(r, want) }) {
			return false
		}
	}
	return true
}

// maxRolelessHostsLogged bounds the hosts remembered as logged, so a
// stream of made-up host names cannot grow the engine.
const maxRolelessHostsLogged = 10_000

// roleless tracks events that no role-scoped rule can judge: the event has
// no role and its host's agent announced none (or was never seen). Each
// such host is logged once and every such event counted
// (crmwatch_rules_unknown_role_events_total), so an agent started without
// --roles does not go unnoticed at the centre.
type roleless struct {
	host    string // the last host looked at, and whether it is roleless
	unknown bool
	logged  map[string]bool
	n       int // events of the current call, added to the metric at flush
}

// noteRoleless looks at one event without a role. The last host's answer
// is cached: batches come from one agent.
func (e *Engine) noteRoleless(host string) {
	u := &e.roleless
	if host != u.host {
		h := e.hosts[host]
		u.host, u.unknown = strings.Clone(host), h == nil || len(h.roles) == 0
		if u.unknown && !u.logged[host] && len(u.logged) < maxRolelessHostsLogged {
			if u.logged == nil {
				u.logged = map[string]bool{}
			}
			u.logged[u.host] = true
			reason := "its agent announced no roles"
			if h == nil {
				reason = "no agent registration was seen for it"
			}
			e.log.Warn("events from a host whose CRM roles are unknown: rules for particular roles do not apply to them; start its agent with --roles",
				"host", host, "reason", reason)
		}
	}
	if u.unknown {
		u.n++
	}
}

// forgetRolelessHost drops the cached answer after a heartbeat changed
// what is known about a host's roles.
func (e *Engine) forgetRolelessHost() { e.roleless.host, e.roleless.unknown = "", false }
