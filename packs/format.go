package packs

import (
	"crmwatch/rules"

	"go.yaml.in/yaml/v3"
)

// Format identifiers written in the files' format: field. A new major
// format gets a new identifier; the loader refuses formats it does not know.
const (
	FormatPack      = "crmwatch.pack/v1"
	FormatOverrides = "crmwatch.overrides/v1"
	FormatTest      = "crmwatch.packtest/v1"
)

// Pack is a loaded, validated management pack.
type Pack struct {
	// Dir is where the pack was loaded from (for messages only).
	Dir         string
	Name        string
	Version     Version
	Description string
	Requires    []Requirement
	// Roles the pack applies to; a rule without roles applies to these.
	Roles []string
	// Parameters with their defaults; overrides may change them per target.
	Parameters map[string]Parameter
	Collect    []Collect
	Rules      []PackRule
	Dashboards []Dashboard
	Reports    []Report
}

// Requirement is another pack this one needs, with a version constraint
// such as ">=1.2.0, <2.0.0" or "^1.2".
type Requirement struct {
	Pack    string `yaml:"pack" json:"pack"`
	Version string `yaml:"version" json:"version"`
}

// Parameter is a configurable value (number or string) rules refer to as
// ${name}; the default is what the pack ships.
type Parameter struct {
	Default     any    `yaml:"default" json:"default"`
	Description string `yaml:"description" json:"description"`
}

// PackRule is one rule with where it was written and its source node, so
// it can be re-resolved with other parameter values.
type PackRule struct {
	rules.Rule
	File string
	Line int
	node *yaml.Node
}

// Collect says what the agent collects on hosts with one of Roles.
type Collect struct {
	Roles     []string       `yaml:"roles" json:"roles"`
	Traces    []TraceSource  `yaml:"traces,omitempty" json:"traces,omitempty"`
	EventLog  []EventLogSpec `yaml:"eventlog,omitempty" json:"eventlog,omitempty"`
	Counters  []CounterSet   `yaml:"counters,omitempty" json:"counters,omitempty"`
	SNMPTraps []TrapMapping  `yaml:"snmp_traps,omitempty" json:"snmp_traps,omitempty"`
}

// TraceSource is a CRM trace directory and a file-name glob (default *.log).
type TraceSource struct {
	Directory string `yaml:"directory" json:"directory"`
	Pattern   string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
}

// EventLogSpec reads one event-log channel, keeping the listed sources at
// MinLevel and above (default warning).
type EventLogSpec struct {
	Channel  string   `yaml:"channel" json:"channel"`
	Sources  []string `yaml:"sources" json:"sources"`
	MinLevel string   `yaml:"min_level,omitempty" json:"min_level,omitempty"`
}

// CounterSet samples counter paths every Interval (default 15s, PAL's
// SampleInterval).
type CounterSet struct {
	Paths    []string       `yaml:"paths" json:"paths"`
	Interval rules.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
}

// TrapMapping turns an SNMP trap OID into an event (source "snmp",
// category Name) at Level.
type TrapMapping struct {
	OID     string `yaml:"oid" json:"oid"`
	Name    string `yaml:"name" json:"name"`
	Level   string `yaml:"level" json:"level"`
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
}

// Dashboard is a pack-defined dashboard; package dashboards builds it into
// panels with PromQL queries over the metrics the agent and server expose.
type Dashboard struct {
	ID          string   `yaml:"id" json:"id"`
	Title       string   `yaml:"title" json:"title"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Roles       []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Variables are dashboard-wide selectors the queries may use as $name:
	// "host" (every host on crmwatch_perfcounter_value).
	Variables []string `yaml:"variables,omitempty" json:"variables,omitempty"`
	Panels    []Panel  `yaml:"panels" json:"panels"`
	// File and Line locate the dashboard for problems found after loading.
	File string `yaml:"-" json:"-"`
	Line int    `yaml:"-" json:"-"`
}

// Panel shows counters, PromQL queries and/or the alerts of rules. Its ID
// (default: the title in lower case with dashes) is what overrides name to
// hide it.
type Panel struct {
	ID          string   `yaml:"id,omitempty" json:"id,omitempty"`
	Title       string   `yaml:"title" json:"title"`
	Kind        string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Counters    []string `yaml:"counters,omitempty" json:"counters,omitempty"`
	Queries     []Query  `yaml:"queries,omitempty" json:"queries,omitempty"`
	Rules       []string `yaml:"rules,omitempty" json:"rules,omitempty"`
	Unit        string   `yaml:"unit,omitempty" json:"unit,omitempty"`
	// File and Line locate the panel (in a pack or an overrides file).
	File string `yaml:"-" json:"-"`
	Line int    `yaml:"-" json:"-"`
}

// Query is one PromQL expression of a panel and its legend (Grafana's
// {{label}} notation).
type Query struct {
	Expr   string `yaml:"expr" json:"expr"`
	Legend string `yaml:"legend,omitempty" json:"legend,omitempty"`
}

// PanelKinds are the panel kinds a pack may ask for (default timeseries).
var PanelKinds = []string{"timeseries", "stat", "bargauge", "table"}

// Report is a pack-defined report (capacity, availability, alerts).
type Report struct {
	ID       string         `yaml:"id" json:"id"`
	Title    string         `yaml:"title" json:"title"`
	Kind     string         `yaml:"kind" json:"kind"`
	Roles    []string       `yaml:"roles,omitempty" json:"roles,omitempty"`
	Counters []string       `yaml:"counters,omitempty" json:"counters,omitempty"`
	Period   rules.Duration `yaml:"period,omitempty" json:"period,omitempty"`
}

// DefaultParams returns the parameters' default values.
func (p *Pack) DefaultParams() Params {
	out := Params{}
	for k, v := range p.Parameters {
		out[k] = normalizeParam(v.Default)
	}
	return out
}

// Rule returns the rule with id, or nil.
func (p *Pack) Rule(id string) *PackRule {
	for i := range p.Rules {
		if p.Rules[i].ID == id {
			return &p.Rules[i]
		}
	}
	return nil
}

// normalizeParam turns YAML integers into float64 so expressions see one
// number type; strings stay strings.
func normalizeParam(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}
