package packs

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"crmwatch/alerts"
	"crmwatch/rules"
)

// Overrides is an operator's overrides file (format crmwatch.overrides/v1).
type Overrides struct {
	File      string              `yaml:"-"`
	Format    string              `yaml:"format"`
	Groups    map[string][]string `yaml:"groups"`
	Overrides []Override          `yaml:"overrides"`
	// Dashboards add panels to or hide panels of the packs' dashboards.
	Dashboards []DashboardOverride `yaml:"dashboards"`
}

// DashboardOverride changes one pack dashboard: Hide names panels (by
// Panel.Key) to leave out, Add appends panels.
type DashboardOverride struct {
	Dashboard string   `yaml:"dashboard"`
	Hide      []string `yaml:"hide"`
	Add       []Panel  `yaml:"add"`
	// Line locates the entry in File.
	Line int `yaml:"-"`
}

// Override changes rules or parameters for one target: exactly one of
// Host, Group, Role, or none for every host. Precedence: host > group >
// role > untargeted > pack.
type Override struct {
	Host         string          `yaml:"host"`
	Group        string          `yaml:"group"`
	Role         string          `yaml:"role"`
	Rule         string          `yaml:"rule"`
	Enabled      *bool           `yaml:"enabled"`
	Severity     alerts.Severity `yaml:"severity"`
	Warning      any             `yaml:"warning"`
	Error        any             `yaml:"error"`
	Critical     any             `yaml:"critical"`
	Recovery     any             `yaml:"recovery"`
	Op           string          `yaml:"op"`
	Window       rules.Duration  `yaml:"window"`
	Consecutive  int             `yaml:"consecutive"`
	Samples      int             `yaml:"samples"`
	MaxSeverity  alerts.Severity `yaml:"max_severity"`
	After        rules.Duration  `yaml:"after"`
	Count        int             `yaml:"count"`
	Within       rules.Duration  `yaml:"within"`
	ResolveAfter rules.Duration  `yaml:"resolve_after"`
	Parameters   Params          `yaml:"parameters"`
}

// Target is what effective rules are resolved for.
type Target struct {
	Host  string
	Roles []string
}

// ParseOverrides reads an overrides file and checks it against the schema
// and the packs it applies to (rules, groups, parameters exist).
func ParseOverrides(fsys fs.FS, name string, ps []*Pack) (*Overrides, error) {
	var pl problemList
	data, err := readLimited(fsys, name)
	if err != nil {
		return nil, Problems{{File: name, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	doc, res := readDocument(name, data, kindOverridesFile, &pl)
	if doc == nil || !res.ok("") {
		return nil, pl.err()
	}
	ov := &Overrides{File: name}
	if err := decodeStrict(doc.body(), ov); err != nil {
		pl.add(name, position{}, "", "%v", err)
		return nil, pl.err()
	}
	for i, o := range ov.Overrides {
		ptr := fmt.Sprintf("/overrides/%d", i)
		bad := func(format string, args ...any) { pl.add(name, doc.at(ptr), ptr, format, args...) }
		n := 0
		for _, s := range []string{o.Host, o.Group, o.Role} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			bad("set at most one of host, group and role")
		}
		if o.Group != "" && ov.Groups[o.Group] == nil {
			bad("group %q is not defined under groups:", o.Group)
		}
		if o.Rule == "" && o.Parameters == nil {
			bad("an override needs rule: (with fields to change) or parameters:")
		}
		if o.Rule != "" && !anyRuleMatches(ps, o.Rule) {
			bad("no rule matches %q", o.Rule)
		}
		for k := range o.Parameters {
			if !anyParam(ps, k) {
				bad("parameter %q is not declared by any pack", k)
			}
			o.Parameters[k] = normalizeParam(o.Parameters[k])
		}
	}
	checkDashboardOverrides(ov, doc, ps, &pl)
	if err := pl.err(); err != nil {
		return nil, err
	}
	return ov, nil
}

// checkDashboardOverrides checks that each entry names a dashboard of the
// packs, hides panels it has and adds panels with keys not yet used.
func checkDashboardOverrides(ov *Overrides, doc *document, ps []*Pack, pl *problemList) {
	for i := range ov.Dashboards {
		do := &ov.Dashboards[i]
		ptr := fmt.Sprintf("/dashboards/%d", i)
		do.Line = doc.at(ptr).Line
		locatePanels(doc, ptr+"/add", do.Add)
		d := findDashboard(ps, do.Dashboard)
		if d == nil {
			pl.add(ov.File, doc.at(ptr+"/dashboard"), ptr+"/dashboard", "no pack has a dashboard %q", do.Dashboard)
			continue
		}
		keys := map[string]bool{}
		for _, pn := range d.Panels {
			keys[pn.Key()] = true
		}
		for j, h := range do.Hide {
			if !keys[h] {
				p := fmt.Sprintf("%s/hide/%d", ptr, j)
				pl.add(ov.File, doc.at(p), p, "dashboard %q has no panel %q (panels: %s)", d.ID, h, strings.Join(panelKeys(d), ", "))
			}
		}
		for j, pn := range do.Add {
			p := fmt.Sprintf("%s/add/%d", ptr, j)
			if keys[pn.Key()] {
				pl.add(ov.File, doc.at(p), p, "dashboard %q already has a panel %q: give the added panel another id", d.ID, pn.Key())
			}
			keys[pn.Key()] = true
			for _, msg := range checkPanel(pn, ps) {
				pl.add(ov.File, doc.at(p), p, "panel %q: %s", pn.Key(), msg)
			}
		}
	}
}

func findDashboard(ps []*Pack, id string) *Dashboard {
	for _, p := range ps {
		for i := range p.Dashboards {
			if p.Dashboards[i].ID == id {
				return &p.Dashboards[i]
			}
		}
	}
	return nil
}

func panelKeys(d *Dashboard) []string {
	out := make([]string, len(d.Panels))
	for i, pn := range d.Panels {
		out[i] = pn.Key()
	}
	return out
}

func anyRuleMatches(ps []*Pack, pattern string) bool {
	for _, p := range ps {
		for _, r := range p.Rules {
			if ok, _ := path.Match(pattern, r.ID); ok {
				return true
			}
		}
	}
	return false
}

func anyParam(ps []*Pack, name string) bool {
	return slices.ContainsFunc(ps, func(p *Pack) bool { _, ok := p.Parameters[name]; return ok })
}

// rank orders an override's target for precedence; -1 means it does not
// apply to t. Host and role names compare case-insensitively, as the
// engine compares them.
func (ov *Overrides) rank(o Override, t Target) int {
	switch {
	case o.Host != "":
		if strings.EqualFold(o.Host, t.Host) {
			return 4
		}
	case o.Group != "":
		if t.Host != "" && containsFold(ov.Groups[o.Group], t.Host) {
			return 3
		}
	case o.Role != "":
		if containsFold(t.Roles, o.Role) {
			return 2
		}
	default:
		return 1
	}
	return -1
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// applicable returns the overrides that apply to t, least precedence first
// (file and entry order kept within one level).
func applicable(ovs []*Overrides, t Target) []Override {
	var out []Override
	for lvl := 1; lvl <= 4; lvl++ {
		for _, ov := range ovs {
			for _, o := range ov.Overrides {
				if ov.rank(o, t) == lvl {
					out = append(out, o)
				}
			}
		}
	}
	return out
}

// Effective resolves the rules of p as target t sees them: parameters and
// rule changes from the overrides applied in precedence order, rules that
// name no roles given the pack's roles. This is what `pack show --host H
// --role R` prints and what the engine applies to that host (FarmRules).
func Effective(p *Pack, ovs []*Overrides, t Target) ([]rules.Rule, error) {
	os := applicable(ovs, t)
	params := targetParams(p, os)
	out := make([]rules.Rule, 0, len(p.Rules))
	for _, pr := range p.Rules {
		r, err := effectiveRule(p, pr, os, params)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rules.Validate(out); err != nil {
		return nil, fmt.Errorf("pack %s after overrides: %w", p.Name, err)
	}
	return out, nil
}

// targetParams merges the pack's parameter defaults with the parameters of
// the applicable overrides os, in precedence order.
func targetParams(p *Pack, os []Override) Params {
	params := p.DefaultParams()
	for _, o := range os {
		params = params.merge(o.Parameters)
	}
	return params
}

// effectiveRule resolves one pack rule under the applicable overrides os
// and the parameters they give.
func effectiveRule(p *Pack, pr PackRule, os []Override, params Params) (rules.Rule, error) {
	r := pr.Rule
	if pr.node != nil {
		n, err := substitute(pr.node, params)
		if err != nil {
			return r, fmt.Errorf("rule %q: %w", pr.ID, err)
		}
		r = rules.Rule{}
		if err := decodeStrict(n, &r); err != nil {
			return r, fmt.Errorf("rule %q: %w", pr.ID, err)
		}
	}
	for _, o := range os {
		if o.Rule == "" {
			continue
		}
		if ok, _ := path.Match(o.Rule, r.ID); ok {
			if err := applyOverride(&r, o, params); err != nil {
				return r, fmt.Errorf("rule %q: override: %w", r.ID, err)
			}
		}
	}
	if len(r.Roles) == 0 {
		r.Roles = slices.Clone(p.Roles)
	}
	return r, nil
}

func applyOverride(r *rules.Rule, o Override, params Params) error {
	if o.Enabled != nil {
		v := *o.Enabled
		r.Enabled = &v
	}
	if o.ResolveAfter > 0 {
		r.ResolveAfter = o.ResolveAfter
	}
	if o.Severity != "" {
		switch r.Kind {
		case rules.KindTrend:
			r.Trend.MaxSeverity = o.Severity
		case rules.KindThreshold:
			return fmt.Errorf("severity does not apply to threshold rules; change warning/error/critical")
		default:
			r.Severity = o.Severity
		}
	}
	if t := r.Threshold; t != nil {
		for _, x := range []struct {
			v   any
			dst **float64
		}{{o.Warning, &t.Levels.Warning}, {o.Error, &t.Levels.Error}, {o.Critical, &t.Levels.Critical}, {o.Recovery, &t.Recovery}} {
			if x.v == nil {
				continue
			}
			f, err := overrideNumber(x.v, params)
			if err != nil {
				return err
			}
			*x.dst = &f
		}
		if o.Op != "" {
			t.Op = o.Op
		}
		if o.Window > 0 {
			t.Window = o.Window
		}
		if o.Consecutive > 0 {
			t.Consecutive = o.Consecutive
		}
	}
	if r.Trend != nil && o.Samples > 0 {
		r.Trend.Samples = o.Samples
	}
	if r.Trend != nil && o.MaxSeverity != "" {
		r.Trend.MaxSeverity = o.MaxSeverity
	}
	if r.Missing != nil && o.After > 0 {
		r.Missing.After = o.After
	}
	if c := r.Correlation; c != nil {
		if o.Count > 0 {
			c.Count = o.Count
		}
		if o.Within > 0 {
			c.Within = o.Within
		}
	}
	return nil
}

func overrideNumber(v any, params Params) (float64, error) {
	switch x := normalizeParam(v).(type) {
	case float64:
		return x, nil
	case string:
		e, err := Expand(x, params)
		if err != nil {
			return 0, err
		}
		if f, ok := e.(float64); ok {
			return f, nil
		}
	}
	return 0, fmt.Errorf("level %v is not a number", v)
}
