package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"crmwatch/event"
	"crmwatch/packs"
)

// Dashboard is one pack dashboard after overrides, ready to render.
type Dashboard struct {
	// UID is stable across exports ("crmwatch-" + ID) so a push updates
	// the same dashboard.
	UID         string
	ID          string
	Title       string
	Description string
	Pack        string
	Roles       []string
	Variables   []string
	Panels      []Panel
}

// Panel is one panel: its queries, and the rules whose alerts it explains.
type Panel struct {
	Key         string
	Title       string
	Kind        string // one of packs.PanelKinds
	Unit        string
	Description string
	Queries     []Query
	Rules       []string
	// File and Line say where the panel was written (pack or overrides).
	File string
	Line int
}

// Query is one PromQL expression and the metric names it selects.
type Query struct {
	Expr    string
	Legend  string
	Metrics []string
}

// VarHost is the dashboard variable selecting hosts.
const VarHost = "host"

// Build returns the dashboards of the packs, in pack then file order, with
// the overrides' hidden panels left out and added panels appended. Every
// problem (a query that does not lex, a metric neither the agent nor the
// server exposes, a counter path that does not parse) is reported at once
// as packs.Problems with file and line.
func Build(ps []*packs.Pack, ovs []*packs.Overrides) ([]Dashboard, error) {
	var out []Dashboard
	var probs packs.Problems
	for _, p := range ps {
		for _, d := range p.Dashboards {
			db := Dashboard{UID: "crmwatch-" + d.ID, ID: d.ID, Title: d.Title, Description: d.Description, Pack: p.Name,
				Roles: slices.Clone(d.Roles), Variables: slices.Clone(d.Variables)}
			hidden, added := applied(ovs, d.ID)
			for _, pn := range append(slices.Clone(d.Panels), added...) {
				if hidden[pn.Key()] {
					continue
				}
				panel, pp := buildPanel(pn, db.Variables)
				probs = append(probs, pp...)
				db.Panels = append(db.Panels, panel)
			}
			out = append(out, db)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

// applied collects what the overrides do to dashboard id.
func applied(ovs []*packs.Overrides, id string) (map[string]bool, []packs.Panel) {
	hidden := map[string]bool{}
	var added []packs.Panel
	for _, ov := range ovs {
		for _, do := range ov.Dashboards {
			if do.Dashboard != id {
				continue
			}
			for _, h := range do.Hide {
				hidden[h] = true
			}
			for _, pn := range do.Add {
				pn.File = ov.File
				added = append(added, pn)
			}
		}
	}
	return hidden, added
}

func buildPanel(pn packs.Panel, vars []string) (Panel, packs.Problems) {
	out := Panel{Key: pn.Key(), Title: pn.Title, Kind: pn.Kind, Unit: pn.Unit, Description: pn.Description,
		Rules: slices.Clone(pn.Rules), File: pn.File, Line: pn.Line}
	if out.Kind == "" {
		out.Kind = "timeseries"
	}
	var probs packs.Problems
	bad := func(format string, args ...any) {
		probs = append(probs, packs.Problem{File: pn.File, Line: pn.Line,
			Message: fmt.Sprintf("panel %q: ", out.Key) + fmt.Sprintf(format, args...)})
	}
	for _, c := range pn.Counters {
		cp, err := event.ParseCounterPath(c)
		if err != nil {
			bad("%v", err)
			continue
		}
		out.Queries = append(out.Queries, counterQuery(cp, slices.Contains(vars, VarHost)))
	}
	for _, q := range pn.Queries {
		names, err := MetricNames(q.Expr)
		if err != nil {
			bad("query %q: %v", q.Expr, err)
			continue
		}
		if len(names) == 0 {
			bad("query %q selects no metric", q.Expr)
		}
		for _, n := range names {
			if _, ok := Exposed[n]; !ok {
				bad("query %q: metric %s is not exposed by the agent or the server (known: docs/dashboards.md)", q.Expr, n)
			}
		}
		out.Queries = append(out.Queries, Query{Expr: q.Expr, Legend: q.Legend, Metrics: names})
	}
	return out, probs
}

// counterQuery selects a counter's series (packs.CounterSeries, so it
// matches what the agent exposes), per host; with the host variable only
// the chosen hosts.
func counterQuery(cp event.CounterPath, byHost bool) Query {
	sel := packs.Selector(packs.CounterSeries("", cp))
	if byHost {
		sel = strings.TrimSuffix(sel, "}") + `,host=~"$host"}`
	}
	legend := "{{host}}"
	if cp.Instance == "*" {
		legend = "{{host}} {{counter_instance}}"
	}
	return Query{Expr: sel, Legend: legend, Metrics: []string{packs.CounterMetric}}
}
