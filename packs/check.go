package packs

import (
	"fmt"
	"slices"
	"strings"

	"crmwatch/event"
	"crmwatch/rules"
)

// check runs the semantic checks the schema cannot express.
func (l *loader) check() {
	p := l.pack
	seen := map[string]*PackRule{}
	for i := range p.Rules {
		r := &p.Rules[i]
		if first, dup := seen[r.ID]; dup {
			l.problems.add(r.File, position{Line: r.Line}, "", "rule id %q is already used at %s:%d; rule ids must be unique", r.ID, first.File, first.Line)
			continue
		}
		seen[r.ID] = r
		for _, msg := range checkRule(&r.Rule, p.Roles) {
			l.problems.add(r.File, position{Line: r.Line}, "", "rule %q: %s", r.ID, msg)
		}
	}
	for i, c := range p.Collect {
		for _, role := range c.Roles {
			if !slices.Contains(p.Roles, role) {
				l.problems.add(l.file("pack.yaml"), position{}, "", "collect entry %d: role %s is not one of the pack's roles %v", i, role, p.Roles)
			}
		}
		for _, cs := range c.Counters {
			for _, path := range cs.Paths {
				if _, err := event.ParseCounterPath(path); err != nil {
					l.problems.add(l.file("pack.yaml"), position{}, "", "collect entry %d: %v", i, err)
				}
			}
		}
	}
	for _, d := range p.Dashboards {
		for _, pn := range d.Panels {
			for _, id := range pn.Rules {
				if seen[id] == nil {
					l.problems.add(l.file("dashboards"), position{}, "", "dashboard %q panel %q: unknown rule %q", d.ID, pn.Title, id)
				}
			}
		}
	}
	for name, prm := range p.Parameters {
		switch normalizeParam(prm.Default).(type) {
		case float64, string:
		default:
			l.problems.add(l.file("pack.yaml"), position{}, "", "parameter %q: default must be a number or a string", name)
		}
	}
}

// checkRule returns what is wrong with one rule (after parameters were
// substituted): the engine's own validation (rules.Validate) plus what only
// a pack can know (its roles).
func checkRule(r *rules.Rule, packRoles []string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, role := range r.Roles {
		if len(packRoles) > 0 && !slices.Contains(packRoles, role) {
			bad("role %s is not one of the pack's roles %v", role, packRoles)
		}
	}
	if err := rules.Validate([]rules.Rule{*r}); err != nil {
		for _, e := range unjoin(err) {
			bad("%s", strings.TrimPrefix(e.Error(), fmt.Sprintf("rule %q: ", r.ID)))
		}
	}
	if r.Kind == rules.KindTrend && r.Trend != nil && r.Trend.Samples == 1 {
		bad("trend samples must be at least 2 (default %d): one sample cannot show a rise", rules.DefaultTrendSamples)
	}
	return out
}

// unjoin flattens errors.Join trees so each problem is its own line.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
