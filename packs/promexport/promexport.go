// Package promexport writes the threshold and trend rules of loaded packs
// as a Prometheus rule file over packs.CounterSeries, so a farm that already
// runs Prometheus can alert on the agents' /metrics with the packs' rules
// (crmwatch pack export-prometheus; docs/packs.md).
package promexport

import (
	"bytes"
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"go.yaml.in/yaml/v3"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/rules"
)

// Options tune Export.
type Options struct {
	// Overrides: only untargeted entries and their parameters are applied
	// (one rule file serves the whole farm; the server also applies host,
	// group and role overrides, see packs.FarmRules).
	Overrides []*packs.Overrides
	// SampleInterval is assumed for counters no collect: entry names
	// (default packs.DefaultSampleInterval). It turns consecutive into for: and
	// sets the trend windows.
	SampleInterval time.Duration
	// EvalInterval is the rule groups' evaluation interval (default
	// SampleInterval).
	EvalInterval time.Duration
}

// RuleFile is the Prometheus rule-file shape Export writes.
type RuleFile struct {
	Groups []Group `yaml:"groups"`
}

// Group is one rule group; Export writes one per pack.
type Group struct {
	Name     string  `yaml:"name"`
	Interval string  `yaml:"interval,omitempty"`
	Rules    []Alert `yaml:"rules"`
}

// Alert is one alerting rule.
type Alert struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// skipped is a rule left out of the export, with why.
type skipped struct{ id, why string }

// notExpressible says why a kind has no PromQL form.
var notExpressible = map[rules.Kind]string{
	rules.KindEvent:       "single events are not metrics",
	rules.KindMissing:     "the server tracks silence per host; absent() cannot name the host",
	rules.KindCorrelation: "counts events across hosts and organizations",
}

// Export writes the threshold and trend rules of the packs, after
// parameters and untargeted overrides, as a Prometheus rule file over
// packs.CounterSeries. Rules of other kinds and disabled rules are listed in a
// comment at the top. The output is deterministic: packs by name, rules by
// alert name, rule id and severity.
func Export(ps []*packs.Pack, opts Options) ([]byte, error) {
	opts.SampleInterval = cmp.Or(opts.SampleInterval, packs.DefaultSampleInterval)
	opts.EvalInterval = cmp.Or(opts.EvalInterval, opts.SampleInterval)
	if opts.SampleInterval < time.Millisecond || opts.EvalInterval < time.Millisecond {
		return nil, fmt.Errorf("export: sample and evaluation intervals must be at least 1ms")
	}
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b *packs.Pack) int { return strings.Compare(a.Name, b.Name) })
	var file RuleFile
	var head bytes.Buffer
	head.WriteString("# Prometheus alerting rules exported by crmwatch pack export-prometheus.\n")
	fmt.Fprintf(&head, "# Series: %s{%s, %s, %s, %s}, names in lower case (docs/packs.md §6).\n",
		packs.CounterMetric, packs.LabelHost, packs.LabelObject, packs.LabelCounter, packs.LabelInstance)
	head.WriteString("# Rule roles are not expressed: a rule applies to every host exposing its counter.\n")
	if names := overrideNames(opts.Overrides); names != "" {
		fmt.Fprintf(&head, "# Untargeted overrides applied from: %s\n", names)
	}
	for _, p := range ps {
		g, skips, err := exportPack(p, opts)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&head, "#\n# Pack %s %s: %d alerting rules.\n", p.Name, p.Version, len(g.Rules))
		writeSkipped(&head, skips)
		file.Groups = append(file.Groups, g)
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(&file); err != nil {
		return nil, fmt.Errorf("export: encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("export: encode YAML: %w", err)
	}
	return append(head.Bytes(), body.Bytes()...), nil
}

func overrideNames(ovs []*packs.Overrides) string {
	var names []string
	for _, ov := range ovs {
		names = append(names, filepath.Base(ov.File))
	}
	return strings.Join(names, ", ")
}

func writeSkipped(w *bytes.Buffer, skips []skipped) {
	if len(skips) == 0 {
		return
	}
	w.WriteString("# Not exported:\n")
	for _, s := range skips {
		fmt.Fprintf(w, "#   %s: %s\n", s.id, oneLine(s.why))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// exportPack resolves one pack's farm rules and converts them.
func exportPack(p *packs.Pack, opts Options) (Group, []skipped, error) {
	rs, err := packs.Effective(p, opts.Overrides, packs.Target{})
	if err != nil {
		return Group{}, nil, fmt.Errorf("export pack %s: %w", p.Name, err)
	}
	g := Group{Name: "crmwatch." + p.Name, Interval: promDuration(opts.EvalInterval)}
	var skips []skipped
	for i := range rs {
		r := &rs[i]
		if !r.IsEnabled() {
			skips = append(skips, skipped{r.ID, "disabled"})
			continue
		}
		var out []Alert
		switch r.Kind {
		case rules.KindThreshold:
			out, err = thresholdAlerts(p, r, opts)
		case rules.KindTrend:
			out, err = trendAlerts(p, r, opts)
		default:
			skips = append(skips, skipped{r.ID, fmt.Sprintf("%s rule (%s)", r.Kind, notExpressible[r.Kind])})
			continue
		}
		if err != nil {
			return Group{}, nil, fmt.Errorf("export pack %s: rule %q: %w", p.Name, r.ID, err)
		}
		g.Rules = append(g.Rules, out...)
	}
	slices.SortFunc(g.Rules, func(a, b Alert) int {
		return cmp.Or(strings.Compare(a.Alert, b.Alert), strings.Compare(a.Labels["rule_id"], b.Labels["rule_id"]),
			alerts.Severity(a.Labels["severity"]).Rank()-alerts.Severity(b.Labels["severity"]).Rank())
	})
	slices.SortFunc(skips, func(a, b skipped) int { return strings.Compare(a.id, b.id) })
	return g, skips, nil
}

// sampleInterval is the interval of the pack's collect: entry naming the
// counter for one of the rule's roles, else the default.
func sampleInterval(p *packs.Pack, r *rules.Rule, cp event.CounterPath, def time.Duration) time.Duration {
	for _, c := range p.Collect {
		if !slices.ContainsFunc(c.Roles, func(role string) bool { return slices.Contains(r.Roles, role) }) {
			continue
		}
		for _, cs := range c.Counters {
			for _, path := range cs.Paths {
				if sameCounter(path, cp) {
					return cmp.Or(cs.Interval.D(), def)
				}
			}
		}
	}
	return def
}

func sameCounter(path string, cp event.CounterPath) bool {
	c, err := event.ParseCounterPath(path)
	if err != nil || !strings.EqualFold(c.Object, cp.Object) || !strings.EqualFold(c.Counter, cp.Counter) {
		return false
	}
	return c.Instance == "*" || strings.EqualFold(c.Instance, cp.Instance)
}

// ruleSelector parses the rule's counter and returns its series selector.
func ruleSelector(counter string) (event.CounterPath, string, error) {
	cp, err := event.ParseCounterPath(counter)
	if err != nil {
		return cp, "", err
	}
	return cp, packs.Selector(packs.CounterSeries("", cp)), nil
}

// base fills what every alert of a rule shares.
func base(p *packs.Pack, r *rules.Rule, cp event.CounterPath, sev alerts.Severity) Alert {
	desc := r.Description
	if desc == "" {
		desc = "crmwatch " + string(r.Kind) + " rule on " + cp.String()
	}
	return Alert{
		Alert:  alertName(r.ID),
		Labels: map[string]string{"severity": string(sev), "rule_id": r.ID, "pack": p.Name},
		Annotations: map[string]string{
			"summary":     promSummary(r.Summary, cp),
			"description": templateLiteral(desc),
			"cause":       templateLiteral(r.Knowledge.Cause),
			"resolution":  templateLiteral(r.Knowledge.Resolution),
		},
	}
}

// alertName turns a rule id (crm.sql.page-life-expectancy) into an alert
// name (CrmSqlPageLifeExpectancy); the id itself is the rule_id label.
func alertName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// promOps maps rule ops to PromQL comparison operators.
var promOps = map[string]string{"gt": ">", "ge": ">=", "lt": "<", "le": "<="}

// thresholdValue is the PromQL for a threshold's aggregate over its window.
// The engine's delta counts a drop as a reset, which is increase(); its
// change (last minus first, for gauges) is PromQL's delta().
func thresholdValue(sel string, t *rules.Threshold) string {
	w := promDuration(cmp.Or(t.Window.D(), rules.DefaultWindow))
	switch cmp.Or(t.Aggregate, rules.DefaultAggregate) {
	case rules.AggAvg:
		return "avg_over_time(" + sel + "[" + w + "])"
	case rules.AggMin:
		return "min_over_time(" + sel + "[" + w + "])"
	case rules.AggMax:
		return "max_over_time(" + sel + "[" + w + "])"
	case rules.AggDelta:
		return "increase(" + sel + "[" + w + "])"
	case rules.AggChange:
		return "delta(" + sel + "[" + w + "])"
	case rules.AggRate:
		return "rate(" + sel + "[" + w + "])"
	}
	return sel
}

// thresholdAlerts makes one alert per level. for: is (consecutive-1)
// sample intervals: the first sample over the level starts the pending
// period and the consecutive-th one, that much later, fires it. A
// recovery value past the lowest level keeps the lowest alert firing until
// the value passes it (hysteresis over the ALERTS series).
func thresholdAlerts(p *packs.Pack, r *rules.Rule, opts Options) ([]Alert, error) {
	t := r.Threshold
	cp, sel, err := ruleSelector(t.Counter)
	if err != nil {
		return nil, err
	}
	op, ok := promOps[cmp.Or(t.Op, rules.DefaultOp)]
	if !ok {
		return nil, fmt.Errorf("op %q has no PromQL form", t.Op)
	}
	val := thresholdValue(sel, t)
	var forDur time.Duration
	if n := cmp.Or(t.Consecutive, rules.DefaultConsecutive); n > 1 {
		forDur = time.Duration(n-1) * sampleInterval(p, r, cp, opts.SampleInterval)
	}
	var out []Alert
	lowest := true
	for _, lv := range []struct {
		sev alerts.Severity
		v   *float64
	}{{alerts.SeverityWarning, t.Levels.Warning}, {alerts.SeverityError, t.Levels.Error}, {alerts.SeverityCritical, t.Levels.Critical}} {
		if lv.v == nil {
			continue
		}
		a := base(p, r, cp, lv.sev)
		a.Expr = val + " " + op + " " + promNumber(*lv.v)
		if lowest && t.Recovery != nil && *t.Recovery != *lv.v {
			a.Expr = fmt.Sprintf("%s or (%s %s %s and ignoring(alertname, alertstate, severity, rule_id, pack) ALERTS{alertname=%q, alertstate=\"firing\", rule_id=%q, severity=%q})",
				a.Expr, val, op, promNumber(*t.Recovery), a.Alert, r.ID, lv.sev)
		}
		lowest = false
		if forDur > 0 {
			a.For = promDuration(forDur)
		}
		out = append(out, a)
	}
	return out, nil
}

// trendAlerts: warning while the counter rose within the last N sample
// intervals (increase over N intervals > 0, which also keeps it firing
// until N samples passed without a rise, as the engine does); the capped
// critical when it rose in each of the last N intervals, written as a chain
// of offset comparisons between consecutive samples.
func trendAlerts(p *packs.Pack, r *rules.Rule, opts Options) ([]Alert, error) {
	t := r.Trend
	cp, sel, err := ruleSelector(t.Counter)
	if err != nil {
		return nil, err
	}
	n := cmp.Or(t.Samples, rules.DefaultTrendSamples)
	iv := sampleInterval(p, r, cp, opts.SampleInterval)
	warn := base(p, r, cp, alerts.SeverityWarning)
	// "sel and …" so that $value is the counter's value, as in the engine.
	warn.Expr = sel + " and increase(" + sel + "[" + promDuration(time.Duration(n)*iv) + "]) > 0"
	out := []Alert{warn}
	top := min(alerts.SeverityCritical.Rank(), cmp.Or(t.MaxSeverity, rules.DefaultTrendMax).Rank())
	if top <= alerts.SeverityWarning.Rank() {
		return out, nil
	}
	sev := alerts.SeverityError
	if top == alerts.SeverityCritical.Rank() {
		sev = alerts.SeverityCritical
	}
	rising := base(p, r, cp, sev)
	rising.Expr = risingExpr(sel, n, iv)
	return append(out, rising), nil
}

// risingExpr is true when each of the last n samples rose over the one
// before: s > s offset iv and s offset iv > s offset 2iv and … . Offsets
// pick consecutive samples when scraped every iv; its value is the current
// one. A drop (counter reset) breaks the chain, as in the engine.
func risingExpr(sel string, n int, iv time.Duration) string {
	at := func(k int) string {
		if k == 0 {
			return sel
		}
		return sel + " offset " + promDuration(time.Duration(k)*iv)
	}
	parts := make([]string, n)
	for k := range n {
		parts[k] = at(k) + " > " + at(k+1)
	}
	return strings.Join(parts, " and ")
}

// promNumber formats a level as a PromQL number literal.
func promNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// promDuration formats d as a PromQL duration (1h30m, 45s, 500ms).
func promDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return cmp.Or(b.String(), "0s")
}

// templateLiteral protects text Prometheus would expand as a template.
func templateLiteral(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// summaryFields maps the summary fields a counter alert has to Prometheus
// template variables; other fields have no value in a counter alert.
var summaryFields = map[string][]string{
	"Host":     {"$labels", packs.LabelHost},
	"Instance": {"$labels", packs.LabelInstance},
	"Value":    {"$value"},
}

// summaryFuncs are the rules engine's summary functions with their
// Prometheus names ("" = none).
var summaryFuncs = map[string]string{"lower": "toLower", "upper": "toUpper", "join": ""}

// promSummary rewrites a rule's summary template for Prometheus ({{.Host}}
// → {{$labels.host}}, {{.Value}} → {{$value}}, {{.Counter}} → the rule's
// path). A template using anything else gets a plain summary instead.
func promSummary(text string, cp event.CounterPath) string {
	fallback := "{{ $labels.host }}: " + templateLiteral(cp.String()) + " is " + valueText.String()
	funcs := template.FuncMap{"lower": strings.ToLower, "upper": strings.ToUpper, "join": strings.Join}
	t, err := template.New("summary").Funcs(funcs).Parse(text)
	if err != nil || t.Tree == nil {
		return fallback
	}
	if !rewriteNode(t.Tree.Root, cp) {
		return fallback
	}
	return t.Tree.Root.String()
}

// rewriteNode rewrites fields and functions in place; false means the
// template uses something with no Prometheus equivalent.
func rewriteNode(n parse.Node, cp event.CounterPath) bool {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return true
		}
		for i, c := range x.Nodes {
			if isValueAction(c) {
				x.Nodes[i] = valueText.Copy()
				continue
			}
			if !rewriteNode(c, cp) {
				return false
			}
		}
		return true
	case *parse.TextNode, *parse.CommentNode:
		return true
	case *parse.ActionNode:
		return rewritePipe(x.Pipe, cp)
	case *parse.IfNode:
		return rewritePipe(x.Pipe, cp) && rewriteNode(x.List, cp) && rewriteNode(x.ElseList, cp)
	}
	return false // range and with change dot; template calls and blocks
}

// valueText prints $value as the engine prints {{.Value}} (rules.Reading):
// four significant digits, or every integer digit from 10,000 on.
var valueText = func() *parse.ListNode {
	// Prometheus declares $value before the annotation; so must the parse.
	t := template.Must(template.New("value").Parse(`{{ $value := 0.0 }}` +
		`{{ if or (ge $value 10000.0) (le $value -10000.0) }}{{ printf "%.0f" $value }}{{ else }}{{ printf "%.4g" $value }}{{ end }}`))
	root := t.Tree.Root
	root.Nodes = root.Nodes[1:]
	return root
}()

// ValueText is how an annotation prints $value where the summary printed
// {{.Value}} (tests render it as rules.Reading does).
func ValueText() string { return valueText.String() }

// isValueAction: {{.Value}} alone, printed rather than passed to a function.
func isValueAction(n parse.Node) bool {
	a, ok := n.(*parse.ActionNode)
	if !ok || a.Pipe == nil || len(a.Pipe.Decl) > 0 || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	return ok && len(f.Ident) == 1 && f.Ident[0] == "Value"
}

func rewritePipe(p *parse.PipeNode, cp event.CounterPath) bool {
	if p == nil {
		return true
	}
	for _, c := range p.Cmds {
		for i, arg := range c.Args {
			switch a := arg.(type) {
			case *parse.FieldNode:
				if len(a.Ident) != 1 {
					return false
				}
				if a.Ident[0] == "Counter" {
					c.Args[i] = &parse.StringNode{NodeType: parse.NodeString, Pos: a.Pos, Quoted: strconv.Quote(cp.String()), Text: cp.String()}
					continue
				}
				v, ok := summaryFields[a.Ident[0]]
				if !ok {
					return false
				}
				c.Args[i] = &parse.VariableNode{NodeType: parse.NodeVariable, Pos: a.Pos, Ident: v}
			case *parse.IdentifierNode:
				name, known := summaryFuncs[a.Ident]
				if known && name == "" {
					return false
				}
				if known {
					a.Ident = name
				}
			case *parse.PipeNode:
				if !rewritePipe(a, cp) {
					return false
				}
			case *parse.VariableNode:
				if a.Ident[0] == "$" && len(a.Ident) > 1 {
					return false // $.Field: Prometheus' dot holds other fields
				}
			case *parse.DotNode, *parse.ChainNode:
				return false
			}
		}
	}
	return true
}
