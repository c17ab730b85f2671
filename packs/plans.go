package packs

import (
	"crmwatch/collectors"
	"crmwatch/event"
)

// Plans returns, for every CRM role, what the packs' collect: sections ask
// a host of that role to collect (the server publishes them to agents,
// which merge the plans of their roles). Every role has an entry, empty
// when no pack asks anything of it, so an agent also learns that a reload
// took something away. Collect entries use the packs' parameter defaults.
func Plans(ps []*Pack) map[event.Role]collectors.Plan {
	parts := map[event.Role][]collectors.Plan{}
	for _, p := range ps {
		name := p.Name + " " + p.Version.String()
		for _, c := range p.Collect {
			plan := collectPlan(c)
			plan.Packs = []string{name}
			for _, r := range c.Roles {
				role, err := event.ParseRole(r)
				if err != nil {
					continue // the loader refused unknown roles already
				}
				parts[role] = append(parts[role], plan)
			}
		}
	}
	out := make(map[event.Role]collectors.Plan, len(event.AllRoles()))
	for _, r := range event.AllRoles() {
		plan := collectors.MergePlans(parts[r]...)
		plan.Roles = []event.Role{r}
		out[r] = plan
	}
	return out
}

// collectPlan converts one collect: entry.
func collectPlan(c Collect) collectors.Plan {
	var p collectors.Plan
	for _, t := range c.Traces {
		p.Traces = append(p.Traces, collectors.TraceSource{Directory: t.Directory, Pattern: t.Pattern})
	}
	for _, e := range c.EventLog {
		p.EventLog = append(p.EventLog, collectors.EventLogSpec{Channel: e.Channel, Sources: e.Sources, MinLevel: e.MinLevel})
	}
	for _, cs := range c.Counters {
		p.Counters = append(p.Counters, collectors.CounterSet{Paths: cs.Paths, Interval: cs.Interval.D()})
	}
	for _, t := range c.SNMPTraps {
		p.SNMPTraps = append(p.SNMPTraps, collectors.TrapMapping{OID: t.OID, Name: t.Name, Level: t.Level, Message: t.Message})
	}
	return p
}
