package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Explains makes a rule's alerts the parents of the open alerts they
// explain (root-cause grouping): an alert of one of Rules that shares each
// of Same with an open alert of this rule is grouped under it. Children stay
// visible under their parent and are not notified on their own.
type Explains struct {
	// Rules are the child rule ids; a trailing "*" matches a prefix
	// ("crm.trace.*").
	Rules []string `yaml:"rules" json:"rules"`
	// Same lists what parent and child must share, each as at least one
	// common value: host, organization (default [host]).
	Same []string `yaml:"same,omitempty" json:"same,omitempty"`
}

// explainsSpec is a compiled Explains.
type explainsSpec struct {
	rules []string
	host  bool
	org   bool
}

func compileExplains(x *Explains, self string) (*explainsSpec, error) {
	if x == nil {
		return nil, nil
	}
	var errs []error
	sp := &explainsSpec{}
	if len(x.Rules) == 0 {
		errs = append(errs, errors.New("rules: list the rule ids this rule explains (a trailing * matches a prefix)"))
	}
	for i, r := range x.Rules {
		r = strings.TrimSpace(r)
		switch {
		case r == "" || r == "*":
			errs = append(errs, fmt.Errorf("rules[%d]: %q would explain everything; name rule ids or prefixes like crm.trace.*", i, r))
		case strings.Contains(strings.TrimSuffix(r, "*"), "*"):
			errs = append(errs, fmt.Errorf("rules[%d]: %q: only a trailing * is allowed", i, r))
		case r == self:
			errs = append(errs, fmt.Errorf("rules[%d]: a rule cannot explain itself", i))
		default:
			sp.rules = append(sp.rules, r)
		}
	}
	same := x.Same
	if len(same) == 0 {
		same = []string{"host"}
	}
	for i, s := range same {
		switch s {
		case "host":
			sp.host = true
		case "organization":
			sp.org = true
		default:
			errs = append(errs, fmt.Errorf("same[%d]: %q is not host or organization", i, s))
		}
	}
	return sp, errors.Join(errs...)
}

// covers reports whether the spec names rule id (an alert's Rule).
func (x *explainsSpec) covers(id string) bool {
	for _, r := range x.rules {
		if p, ok := strings.CutSuffix(r, "*"); ok {
			if strings.HasPrefix(id, p) {
				return true
			}
		} else if r == id {
			return true
		}
	}
	return false
}

// linkParents records, for a compiled set, which rules may parent which.
func (s *ruleSet) linkParents() {
	s.parentsOf = map[string][]*compiledRule{}
	for _, p := range s.rules {
		if p.explains == nil {
			continue
		}
		for _, c := range s.rules {
			if c != p && c.alertRule != p.alertRule && c.explains == nil && p.explains.covers(c.alertRule) {
				s.parentsOf[c.id] = append(s.parentsOf[c.id], p)
				p.children = append(p.children, c)
			}
		}
	}
}

// explainedBy reports whether parent p explains child c.
func explainedBy(c, p *alertState) bool {
	x := p.rule.explains
	return (!x.host || overlap(c.a.Hosts, p.a.Hosts)) && (!x.org || overlap(c.a.Organizations, p.a.Organizations))
}

func overlap(a, b []string) bool {
	for _, s := range a {
		if slices.Contains(b, s) {
			return true
		}
	}
	return false
}

func (e *Engine) setParent(st *alertState, parent string) {
	if st.a.ParentID == parent {
		return
	}
	if !st.regrouped {
		st.regrouped, st.prevParent = true, st.a.ParentID
	}
	st.a.ParentID = parent
	e.touch(st)
}

// group runs at the end of a call over the alerts it touched: open parents
// adopt the open alerts they explain, and open alerts without a parent look
// for one (the earliest open parent that explains them).
func (e *Engine) group() {
	if len(e.set.parentsOf) == 0 {
		return
	}
	for i := 0; i < len(e.touched); i++ { // adopt may append
		st := e.touched[i]
		if st.rule == nil || !st.a.State.Open() {
			continue
		}
		if st.rule.explains != nil {
			if n := len(st.a.Hosts) + len(st.a.Organizations); n != st.listed || st.raised || st.reopened {
				st.listed = n
				e.adoptChildren(st)
			}
			continue
		}
		if st.a.ParentID == "" {
			if p := e.findParent(st); p != nil {
				e.setParent(st, p.a.ID)
			}
		}
	}
}

func (e *Engine) findParent(c *alertState) *alertState {
	var best *alertState
	for _, pr := range e.set.parentsOf[c.rid] {
		for _, p := range e.open[pr.id] {
			if explainedBy(c, p) && (best == nil || p.a.FirstSeen.Before(best.a.FirstSeen) ||
				p.a.FirstSeen.Equal(best.a.FirstSeen) && p.a.ID < best.a.ID) {
				best = p
			}
		}
	}
	return best
}

func (e *Engine) adoptChildren(p *alertState) {
	for _, cr := range p.rule.children {
		for _, c := range e.open[cr.id] {
			if c.a.ParentID == "" && explainedBy(c, p) {
				e.setParent(c, p.a.ID)
			}
		}
	}
}

// releaseChildren ungroups the open children of a parent that resolved;
// the grouping pass then finds them another parent, or none.
func (e *Engine) releaseChildren(p *alertState) {
	if p.rule == nil || p.rule.explains == nil {
		return
	}
	for _, cr := range p.rule.children {
		for _, c := range e.open[cr.id] {
			if c.a.ParentID == p.a.ID {
				e.setParent(c, "")
			}
		}
	}
}
