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
	dashIDs := map[string]*Dashboard{}
	for i := range p.Dashboards {
		d := &p.Dashboards[i]
		if first, dup := dashIDs[d.ID]; dup {
			l.problems.add(d.File, position{Line: d.Line}, "", "dashboard id %q is already used at %s:%d; dashboard ids must be unique", d.ID, first.File, first.Line)
		}
		dashIDs[d.ID] = d
		keys := map[string]int{}
		for _, pn := range d.Panels {
			if line, dup := keys[pn.Key()]; dup {
				l.problems.add(pn.File, position{Line: pn.Line}, "", "dashboard %q: panel %q is already used at line %d; give one an id:", d.ID, pn.Key(), line)
			}
			keys[pn.Key()] = pn.Line
			for _, msg := range checkPanel(pn, []*Pack{p}) {
				l.problems.add(pn.File, position{Line: pn.Line}, "", "dashboard %q panel %q: %s", d.ID, pn.Key(), msg)
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

// checkPanel returns what is wrong with a panel the schema cannot see:
// rules the packs do not have, counter paths that do not parse, a panel
// that shows nothing.
func checkPanel(pn Panel, ps []*Pack) []string {
	var out []string
	for _, id := range pn.Rules {
		if !slices.ContainsFunc(ps, func(p *Pack) bool { return p.Rule(id) != nil }) {
			out = append(out, fmt.Sprintf("unknown rule %q", id))
		}
	}
	for _, c := range pn.Counters {
		if _, err := event.ParseCounterPath(c); err != nil {
			out = append(out, err.Error())
		}
	}
	if len(pn.Counters)+len(pn.Queries)+len(pn.Rules) == 0 {
		out = append(out, "shows nothing: give it counters:, queries: or rules:")
	}
	return out
}

// Key is the panel's id, or its title in lower case with runs of other
// characters than letters and digits turned into one dash.
func (pn Panel) Key() string {
	if pn.ID != "" {
		return pn.ID
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(pn.Title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}
