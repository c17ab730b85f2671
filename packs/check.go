package packs

import (
	"fmt"
	"regexp"
	"slices"
	"text/template"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/rules"
)

// groupByNames are the group_by values the engine knows besides fields a
// message pattern extracts.
var groupByNames = []string{"host", "role", "organization", "source", "event_id", "category", "process", "counter", "instance"}

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
// substituted). packRoles are the roles a rule may name.
func checkRule(r *rules.Rule, packRoles []string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, role := range r.Roles {
		if len(packRoles) > 0 && !slices.Contains(packRoles, role) {
			bad("role %s is not one of the pack's roles %v", role, packRoles)
		}
	}
	set := map[rules.Kind]bool{
		rules.KindEvent: r.Event != nil, rules.KindThreshold: r.Threshold != nil, rules.KindTrend: r.Trend != nil,
		rules.KindMissing: r.Missing != nil, rules.KindCorrelation: r.Correlation != nil,
	}
	for k, isSet := range set {
		if isSet && k != r.Kind {
			bad("kind is %s but it also has a %s: block; keep only the %s: block", r.Kind, k, r.Kind)
		}
	}
	if r.Severity != "" && r.Severity.Rank() == 0 {
		bad("unknown severity %q", r.Severity)
	}
	if _, err := template.New(r.ID).Option("missingkey=zero").Parse(r.Summary); err != nil {
		bad("summary is not a valid template: %v", err)
	}
	var names []string
	switch r.Kind {
	case rules.KindEvent:
		names = checkMatch(r.Event, "event", bad)
	case rules.KindThreshold:
		checkThreshold(r.Threshold, bad)
	case rules.KindTrend:
		checkCounter(r.Trend.Counter, bad)
		if r.Trend.Samples < 0 || r.Trend.Samples == 1 {
			bad("trend samples must be at least 2 (default 3)")
		}
		if r.Trend.MaxSeverity != "" && r.Trend.MaxSeverity.Rank() < alerts.SeverityWarning.Rank() {
			bad("trend max_severity must be warning, error or critical")
		}
	case rules.KindMissing:
		checkMissing(r.Missing, bad)
	case rules.KindCorrelation:
		c := r.Correlation
		names = checkMatch(&c.Event, "correlation event", bad)
		if c.Count < 1 || c.Within <= 0 {
			bad("correlation needs count ≥ 1 and a positive within")
		}
		if c.MinHosts < 0 || c.MinOrganizations < 0 || c.MinHosts > c.Count || c.MinOrganizations > c.Count {
			bad("correlation min_hosts and min_organizations must be between 0 and count")
		}
	}
	for _, g := range r.GroupBy {
		if !slices.Contains(groupByNames, g) && !slices.Contains(names, g) {
			bad("group_by %q is neither one of %v nor a named group of the message pattern", g, groupByNames)
		}
	}
	return out
}

// checkMatch validates an event match and returns the message pattern's
// named groups.
func checkMatch(m *rules.EventMatch, what string, bad func(string, ...any)) []string {
	if m == nil {
		return nil
	}
	for _, lv := range append(slices.Clone(m.Levels), m.MinLevel) {
		if lv == "" {
			continue
		}
		if _, err := event.ParseLevel(lv); err != nil {
			bad("%s: %v", what, err)
		}
	}
	if len(m.Levels) > 0 && m.MinLevel != "" {
		bad("%s: use levels or min_level, not both", what)
	}
	if len(m.Sources) == 0 && len(m.EventIDs) == 0 && len(m.Categories) == 0 && m.Message == "" {
		bad("%s: match needs at least one of sources, event_ids, categories or message; it would match everything", what)
	}
	if m.Message == "" {
		return nil
	}
	re, err := regexp.Compile(m.Message)
	if err != nil {
		bad("%s: message is not a valid RE2 regular expression: %v", what, err)
		return nil
	}
	return slices.DeleteFunc(re.SubexpNames(), func(s string) bool { return s == "" })
}

func checkCounter(path string, bad func(string, ...any)) {
	if _, err := event.ParseCounterPath(path); err != nil {
		bad("%v", err)
	}
}

func checkThreshold(t *rules.Threshold, bad func(string, ...any)) {
	checkCounter(t.Counter, bad)
	lv := []*float64{t.Levels.Warning, t.Levels.Error, t.Levels.Critical}
	var set []float64
	for _, v := range lv {
		if v != nil {
			set = append(set, *v)
		}
	}
	if len(set) == 0 {
		bad("threshold needs at least one of warning, error, critical")
		return
	}
	ascending := t.Op == "" || t.Op == "gt" || t.Op == "ge"
	for i := 1; i < len(set); i++ {
		if ascending && set[i] < set[i-1] {
			bad("with op %s the levels must rise from warning to critical (got %v)", opName(t.Op), set)
		}
		if !ascending && set[i] > set[i-1] {
			bad("with op %s the levels must fall from warning to critical (got %v)", t.Op, set)
		}
	}
	if t.Consecutive < 0 {
		bad("consecutive must not be negative")
	}
	if t.Window < 0 {
		bad("window must not be negative")
	}
}

func opName(op string) string {
	if op == "" {
		return "gt"
	}
	return op
}

func checkMissing(m *rules.Missing, bad func(string, ...any)) {
	n := 0
	if m.Agent {
		n++
	}
	if m.Counter != "" {
		n++
		checkCounter(m.Counter, bad)
	}
	if m.Event != nil {
		n++
		checkMatch(m.Event, "missing event", bad)
	}
	if n != 1 {
		bad("missing needs exactly one of agent: true, counter or event")
	}
	if m.After <= 0 {
		bad("missing after must be positive")
	}
}
