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
	logged map[string]bool
	n      int // events of the current call, added to the metric at flush
}

// rolelessRun remembers the verdict for the host of the previous event of
// a ProcessEvents call: an agent's batch is one host, so a run of its
// events costs one string comparison each. It lives for one call only, so
// the host string it keeps is the caller's.
type rolelessRun struct {
	host    string
	unknown bool
	valid   bool
}

// noteRoleless looks at one event without a role: a map lookup when the
// host differs from the previous event's, no allocation unless a host is
// logged.
func (e *Engine) noteRoleless(run *rolelessRun, host string) {
	if !run.valid || host != run.host {
		h := e.hosts[host]
		*run = rolelessRun{host: host, unknown: h == nil || len(h.roles) == 0, valid: true}
		if run.unknown {
			e.logRoleless(host, h == nil)
		}
	}
	if run.unknown {
		e.roleless.n++
	}
}

// logRoleless logs a host with unknown roles the first time it is seen.
func (e *Engine) logRoleless(host string, unregistered bool) {
	u := &e.roleless
	if u.logged[host] || len(u.logged) >= maxRolelessHostsLogged {
		return
	}
	if u.logged == nil {
		u.logged = map[string]bool{}
	}
	u.logged[strings.Clone(host)] = true
	reason := "its agent announced no roles"
	if unregistered {
		reason = "no agent registration was seen for it"
	}
	e.log.Warn("events from a host whose CRM roles are unknown: rules for particular roles do not apply to them; start its agent with --roles",
		"host", host, "reason", reason)
}
