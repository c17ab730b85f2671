package packs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"crmwatch/rules"
)

// ShownRule is one effective rule as `crmwatch pack show --json` prints it.
type ShownRule struct {
	ID        string            `json:"id"`
	Kind      rules.Kind        `json:"kind"`
	Severity  string            `json:"severity,omitempty"`
	Enabled   bool              `json:"enabled"`
	Roles     []string          `json:"roles,omitempty"`
	Counter   string            `json:"counter,omitempty"`
	Levels    *rules.Levels     `json:"levels,omitempty"`
	Op        string            `json:"op,omitempty"`
	Match     *rules.EventMatch `json:"match,omitempty"`
	Missing   *rules.Missing    `json:"missing,omitempty"`
	Knowledge any               `json:"knowledge"`
}

// Show converts effective rules into their shown form.
func Show(rs []rules.Rule) []ShownRule {
	out := make([]ShownRule, 0, len(rs))
	for _, r := range rs {
		s := ShownRule{ID: r.ID, Kind: r.Kind, Severity: string(r.Severity), Enabled: r.IsEnabled(), Roles: r.Roles, Knowledge: r.Knowledge}
		switch {
		case r.Threshold != nil:
			lv := r.Threshold.Levels
			s.Counter, s.Levels, s.Op = r.Threshold.Counter, &lv, cmpOr(r.Threshold.Op, rules.DefaultOp)
		case r.Trend != nil:
			s.Counter, s.Severity = r.Trend.Counter, "max "+string(cmpOr(r.Trend.MaxSeverity, rules.DefaultTrendMax))
		case r.Event != nil:
			s.Match = r.Event
		case r.Correlation != nil:
			m := r.Correlation.Event
			s.Match = &m
		case r.Missing != nil:
			s.Missing, s.Counter, s.Match = r.Missing, r.Missing.Counter, r.Missing.Event
		}
		out = append(out, s)
	}
	return out
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// WriteTable prints shown rules as an aligned table.
func WriteTable(w io.Writer, rs []ShownRule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tENABLED\tCOUNTER / MATCH")
	for _, r := range rs {
		what := r.Counter
		if r.Levels != nil {
			what += " " + r.Op + levelsText(*r.Levels)
		}
		if r.Match != nil {
			what = matchText(r.Match)
		}
		if r.Missing != nil && r.Missing.Agent {
			what = "agent heartbeat, after " + r.Missing.After.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.ID, r.Kind, severityText(r), r.Enabled, what)
	}
	return tw.Flush()
}

// severityText says where the severity of a rule without a fixed one comes
// from, so the column is never empty: event and correlation alerts take it
// from the event's level, threshold alerts from the level crossed, missing
// alerts default to rules.DefaultMissingSeverity.
func severityText(r ShownRule) string {
	if r.Severity != "" {
		return r.Severity
	}
	switch r.Kind {
	case rules.KindEvent, rules.KindCorrelation:
		return "by level"
	case rules.KindThreshold:
		return "by threshold"
	case rules.KindMissing:
		return string(rules.DefaultMissingSeverity)
	}
	return "-"
}

func levelsText(l rules.Levels) string {
	var parts []string
	for _, x := range []struct {
		n string
		v *float64
	}{{"W", l.Warning}, {"E", l.Error}, {"C", l.Critical}} {
		if x.v != nil {
			parts = append(parts, fmt.Sprintf("%s=%g", x.n, *x.v))
		}
	}
	return " " + strings.Join(parts, " ")
}

func matchText(m *rules.EventMatch) string {
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
	}
	add("sources", m.Sources)
	add("categories", m.Categories)
	add("levels", m.Levels)
	if m.MinLevel != "" {
		parts = append(parts, "min_level="+m.MinLevel)
	}
	for _, id := range m.EventIDs {
		parts = append(parts, fmt.Sprintf("event_id=%d", id))
	}
	if m.Message != "" {
		parts = append(parts, "message=/"+m.Message+"/")
	}
	return strings.Join(parts, " ")
}

// LoadOverridesFiles parses overrides files from disk for the given packs.
func LoadOverridesFiles(files []string, ps []*Pack) ([]*Overrides, error) {
	var out []*Overrides
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		ov, err := ParseOverrides(os.DirFS(filepath.Dir(abs)), filepath.Base(abs), ps)
		if err != nil {
			return nil, err
		}
		ov.File = f
		out = append(out, ov)
	}
	return out, nil
}
