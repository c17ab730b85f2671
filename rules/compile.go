package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// compiledRule is a validated rule with everything precomputed that
// evaluation needs. It is immutable once built; per-rule mutable state
// lives in the engine so reloads can carry it over.
type compiledRule struct {
	spec         Rule
	pos          int    // index in its ruleSet
	id           string // InternalID: ID, or ID@Variant
	alertRule    string // the Rule of its alerts: ID
	keySuffix    string // appended to alert keys of variants (variantKeySuffix)
	scope        *compiledScope
	kind         Kind
	severity     alerts.Severity // "" for event/correlation rules: derived from the event level
	roles        []string
	groupBy      []string
	resolveAfter time.Duration
	reopenWithin time.Duration
	summary      *template.Template
	explains     *explainsSpec
	children     []*compiledRule // rules whose alerts this rule's alerts may parent (set by linkParents)

	match   *eventMatcher     // event, correlation, missing (event)
	counter event.CounterPath // threshold, trend, missing (counter)
	th      *thresholdSpec
	trend   *trendSpec
	miss    *missingSpec
	corr    *Correlation
}

// Validate checks a rule set and reports every problem at once, each naming
// the rule id and the field.
func Validate(rs []Rule) error {
	_, err := compileSet(rs)
	return err
}

// compileRule compiles one rule; label names it in errors ("rule \"id\""
// or "rule #n" when the id is missing).
func compileRule(r Rule, label string) (*compiledRule, error) {
	c := &compiledRule{spec: r, id: r.InternalID(), alertRule: r.ID, kind: r.Kind, severity: r.Severity}
	var errs []error
	add := func(field string, err error) {
		errs = append(errs, flatten(prefix(field, err))...)
	}
	if strings.TrimSpace(r.ID) == "" {
		add("id", errors.New("missing"))
	}
	kindErr, blockErr := c.compileKind(r)
	add("kind", kindErr)
	errs = append(errs, flatten(blockErr)...)
	if r.Severity != "" && r.Severity.Rank() == 0 {
		add("severity", fmt.Errorf("unknown severity %q (want info, warning, error or critical)", r.Severity))
	}
	if (r.Kind == KindThreshold || r.Kind == KindTrend) && r.Severity != "" {
		add("severity", fmt.Errorf("not used by %s rules: their levels decide", r.Kind))
	}
	if r.Kind == KindMissing && c.severity == "" {
		c.severity = DefaultMissingSeverity
	}
	for i, role := range r.Roles {
		if strings.TrimSpace(role) == "" {
			add(fmt.Sprintf("roles[%d]", i), errors.New("empty role"))
		}
		c.roles = append(c.roles, strings.TrimSpace(role))
	}
	if anyRole(c.roles) {
		c.roles = nil // every CRM server, whatever its agent announced
	}
	c.resolveAfter = r.ResolveAfter.D()
	if c.resolveAfter < 0 {
		add("resolve_after", errors.New("must not be negative"))
	}
	if c.resolveAfter == 0 {
		c.resolveAfter = DefaultResolveAfter
	}
	c.reopenWithin = DefaultReopenWithin
	if r.ReopenWithin != nil {
		c.reopenWithin = r.ReopenWithin.D()
	}
	ex, err := compileExplains(r.Explains, r.ID)
	add("explains", err)
	c.explains = ex
	c.groupBy = r.GroupBy
	if len(c.groupBy) == 0 {
		c.groupBy = defaultGroupBy(r.Kind)
	}
	add("group_by", c.checkGroupBy())
	c.keySuffix = variantKeySuffix(&r, c.groupBy)
	sc, err := compileScope(r.Scope)
	add("scope", err)
	c.scope = sc
	if r.Variant != "" && r.Scope == nil {
		add("variant", errors.New("a variant needs a scope; without one it would apply everywhere, like the rule itself"))
	}
	if strings.ContainsAny(r.Variant, "|@") {
		add("variant", fmt.Errorf("%q: must not contain | or @", r.Variant))
	}
	tmpl, err := compileSummary(r.ID, r.Summary)
	add("summary", err)
	c.summary = tmpl
	if len(errs) > 0 {
		return nil, prefix(label, errors.Join(errs...))
	}
	return c, nil
}

// compileKind checks that exactly the block of the rule's kind is set and
// compiles it; block errors are already prefixed with the block name.
func (c *compiledRule) compileKind(r Rule) (kindErr, blockErr error) {
	kinds := []Kind{KindEvent, KindThreshold, KindTrend, KindMissing, KindCorrelation}
	present := []bool{r.Event != nil, r.Threshold != nil, r.Trend != nil, r.Missing != nil, r.Correlation != nil}
	var errs []error
	set, known := false, false
	for i, k := range kinds {
		if k == r.Kind {
			set, known = present[i], true
		} else if present[i] && r.Kind != "" {
			errs = append(errs, fmt.Errorf("block %q set on a rule of kind %q (a rule has exactly one kind)", k, r.Kind))
		}
	}
	switch {
	case r.Kind == "":
		errs = append(errs, errors.New("missing (want event, threshold, trend, missing or correlation)"))
	case !known:
		errs = append(errs, fmt.Errorf("unknown kind %q (want event, threshold, trend, missing or correlation)", r.Kind))
	case !set:
		errs = append(errs, fmt.Errorf("kind %q needs a %q block", r.Kind, r.Kind))
	default:
		blockErr = c.compileBlock(r)
	}
	return errors.Join(errs...), blockErr
}

func (c *compiledRule) compileBlock(r Rule) error {
	var err error
	switch r.Kind {
	case KindEvent:
		c.match, err = compileEventMatch(r.Event)
		return prefix("event", err)
	case KindThreshold:
		c.th, c.counter, err = compileThreshold(r.Threshold)
		return prefix("threshold", err)
	case KindTrend:
		c.trend, c.counter, err = compileTrend(r.Trend)
		return prefix("trend", err)
	case KindMissing:
		return prefix("missing", c.compileMissing(r.Missing))
	case KindCorrelation:
		return prefix("correlation", c.compileCorrelation(r.Correlation))
	}
	return nil
}

// prefix puts p in front of every error joined in err, so each line of a
// Validate report names its rule and field.
func prefix(p string, err error) error {
	var out []error
	for _, e := range flatten(err) {
		out = append(out, fmt.Errorf("%s: %w", p, e))
	}
	return errors.Join(out...)
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

func (c *compiledRule) compileCorrelation(co *Correlation) error {
	var errs []error
	m, err := compileEventMatch(&co.Event)
	if err != nil {
		errs = append(errs, prefix("event", err))
	}
	c.match, c.corr = m, co
	if co.Count < 1 {
		errs = append(errs, errors.New("count: must be at least 1"))
	}
	if co.Within.D() <= 0 {
		errs = append(errs, errors.New("within: must be a positive duration (e.g. 5m)"))
	}
	if co.MinHosts < 0 || co.MinOrganizations < 0 {
		errs = append(errs, errors.New("min_hosts and min_organizations must not be negative"))
	}
	if co.Count > 0 && (co.MinHosts > co.Count || co.MinOrganizations > co.Count) {
		errs = append(errs, fmt.Errorf("min_hosts/min_organizations exceed count %d: the rule could never fire", co.Count))
	}
	return errors.Join(errs...)
}

func compileCounter(p string) (event.CounterPath, error) {
	if strings.TrimSpace(p) == "" {
		return event.CounterPath{}, errors.New(`counter: missing (write \Object(instance)\Counter)`)
	}
	cp, err := event.ParseCounterPath(p)
	if err != nil {
		return cp, fmt.Errorf("counter: %w", err)
	}
	if cp.Machine != "" {
		return cp, fmt.Errorf(`counter %q: drop the \\%s machine part; use roles or group_by host to select hosts`, p, cp.Machine)
	}
	return cp, nil
}

// groupByNames are the group_by values each kind understands besides the
// named groups of an event pattern and the keys of an event fields match.
var groupByNames = map[Kind][]string{
	KindEvent:       {"host", "role", "organization", "source", "event_id", "category", "process"},
	KindCorrelation: {"host", "role", "organization", "source", "event_id", "category", "process"},
	KindThreshold:   {"host", "role", "counter", "instance"},
	KindTrend:       {"host", "role", "counter", "instance"},
}

func (c *compiledRule) checkGroupBy() error {
	allowed := groupByNames[c.kind]
	if c.kind == KindMissing {
		switch {
		case c.miss == nil:
		case c.miss.agent:
			allowed = []string{"host", "role"}
		case c.miss.counter:
			allowed = groupByNames[KindThreshold]
		default:
			allowed = groupByNames[KindEvent]
		}
	}
	var extra []string
	if c.match != nil {
		extra = append(extra, c.match.groups...)
		for _, f := range c.match.fields {
			extra = append(extra, f.key)
		}
	}
	var errs []error
	seen := map[string]bool{}
	for _, g := range c.groupBy {
		if seen[g] {
			errs = append(errs, fmt.Errorf("%q listed twice", g))
		}
		seen[g] = true
		if !contains(allowed, g) && !contains(extra, g) {
			errs = append(errs, fmt.Errorf("unknown value %q (want one of %s or a named group of the message pattern)",
				g, strings.Join(allowed, ", ")))
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func finite(f *float64) bool { return f == nil || !(math.IsNaN(*f) || math.IsInf(*f, 0)) }
