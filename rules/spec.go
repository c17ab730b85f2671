// Package rules turns events and samples into consolidated alerts. It holds
// the rule specification (the YAML shape packs use), the rule kinds (event,
// threshold, trend, missing-data, correlation), their indexed evaluation and
// atomic reloads.
//
// The engine hands alert changes to an alerts.Sender; it never imports the
// store, the transport or the notifiers.
package rules

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"crmwatch/alerts"
)

// Kind is a rule kind.
type Kind string

// Rule kinds.
const (
	KindEvent       Kind = "event"       // one matching event raises (or repeats) an alert
	KindThreshold   Kind = "threshold"   // a counter aggregate crosses warning/error/critical levels
	KindTrend       Kind = "trend"       // a (cumulative) counter keeps rising
	KindMissing     Kind = "missing"     // an agent, counter or expected event is silent too long
	KindCorrelation Kind = "correlation" // N matching events from ≥ M hosts/orgs within T become one alert
)

// Rule is one rule as written in a pack. Exactly one of Event, Threshold,
// Trend, Missing or Correlation is set, matching Kind.
type Rule struct {
	ID          string `yaml:"id" json:"id"`
	Kind        Kind   `yaml:"kind" json:"kind"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Severity of the alert for kinds without levels (event, missing,
	// correlation); threshold and trend rules take it from their levels.
	Severity alerts.Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Roles limits the rule to hosts with one of these CRM roles; empty means
	// the roles of the pack.
	Roles []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Summary is a text/template over the alert: {{.Host}}, {{.Organization}},
	// {{.Hosts}}, {{.Organizations}}, {{.Counter}}, {{.Instance}}, {{.Value}},
	// {{.Count}}, {{.Message}} (the message's first line, at most 300 bytes),
	// {{.Fields.name}}. A rendered summary is always one line.
	Summary   string           `yaml:"summary" json:"summary"`
	Knowledge alerts.Knowledge `yaml:"knowledge" json:"knowledge"`
	// GroupBy names what one alert is about; repeats with the same values
	// consolidate. Values: host, role, organization, source, event_id,
	// category, process, counter, instance, or a field extracted by the
	// message pattern. Defaults: event [host, organization]; threshold and
	// trend [host, instance]; missing [host]; correlation [] (one alert).
	GroupBy []string `yaml:"group_by,omitempty" json:"group_by,omitempty"`
	// ResolveAfter resolves an open alert when no repeat came for this long
	// (event and correlation rules; default 1h). Threshold, trend and missing
	// rules resolve when their condition clears.
	ResolveAfter Duration `yaml:"resolve_after,omitempty" json:"resolve_after,omitempty"`
	// ReopenWithin reopens a resolved alert, same id and history, when its
	// condition returns within this long of the resolution, instead of
	// raising a new one (default DefaultReopenWithin; 0s never reopens).
	ReopenWithin *Duration `yaml:"reopen_within,omitempty" json:"reopen_within,omitempty"`
	// Explains makes this rule's alerts the parents of the open alerts they
	// explain (root-cause grouping).
	Explains *Explains `yaml:"explains,omitempty" json:"explains,omitempty"`

	Event       *EventMatch  `yaml:"event,omitempty" json:"event,omitempty"`
	Threshold   *Threshold   `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	Trend       *Trend       `yaml:"trend,omitempty" json:"trend,omitempty"`
	Missing     *Missing     `yaml:"missing,omitempty" json:"missing,omitempty"`
	Correlation *Correlation `yaml:"correlation,omitempty" json:"correlation,omitempty"`

	// Scope limits the rule to some hosts, on top of Roles. packs.FarmRules
	// sets it when host, group or role overrides give hosts different
	// definitions of one rule; nil means every host.
	Scope *Scope `yaml:"scope,omitempty" json:"scope,omitempty"`
	// Variant names one scoped definition of the rule ID when several are
	// loaded at once. Its alerts carry Rule ID (so the NOC sees one rule)
	// and Fields[VariantField] = Variant; the engine keeps its state apart
	// under InternalID. Empty for the base definition.
	Variant string `yaml:"variant,omitempty" json:"variant,omitempty"`
}

// Scope selects the hosts a rule applies to. Every non-empty condition must
// hold. Host names compare case-insensitively. A host's roles are those of
// the observation (its Role, one name or a comma-separated list) together
// with those its agent announced in heartbeats.
type Scope struct {
	Hosts       []string `yaml:"hosts,omitempty" json:"hosts,omitempty"`               // only these hosts
	ExceptHosts []string `yaml:"except_hosts,omitempty" json:"except_hosts,omitempty"` // never these hosts
	AllRoles    []string `yaml:"all_roles,omitempty" json:"all_roles,omitempty"`       // hosts with every one of these roles
	ExceptRoles []string `yaml:"except_roles,omitempty" json:"except_roles,omitempty"` // hosts with none of these roles
}

// VariantField is the alert field that names the variant of a rule that
// raised it (Rule.Variant); Restore uses it to resume the right variant.
const VariantField = "rule_variant"

// InternalID is the id the engine keys the rule's state and alert ids by:
// ID, or ID@Variant for a variant.
func (r *Rule) InternalID() string {
	if r.Variant == "" {
		return r.ID
	}
	return r.ID + "@" + r.Variant
}

// IsEnabled reports the effective enabled flag.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// EventMatch selects events. Every non-empty list must match (AND across
// fields, OR within a list). String matches are case-insensitive; a trailing
// ".*" or "*" matches a prefix (Category "Platform.*").
type EventMatch struct {
	Sources  []string `yaml:"sources,omitempty" json:"sources,omitempty"`
	EventIDs []uint32 `yaml:"event_ids,omitempty" json:"event_ids,omitempty"`
	// Levels lists accepted levels; MinLevel accepts that level and above.
	Levels        []string `yaml:"levels,omitempty" json:"levels,omitempty"`
	MinLevel      string   `yaml:"min_level,omitempty" json:"min_level,omitempty"`
	Categories    []string `yaml:"categories,omitempty" json:"categories,omitempty"`
	Organizations []string `yaml:"organizations,omitempty" json:"organizations,omitempty"`
	Processes     []string `yaml:"processes,omitempty" json:"processes,omitempty"`
	// Message is a regular expression (RE2) on the message; its named groups
	// become alert fields.
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
	// Fields matches extra event fields exactly (key → value).
	Fields map[string]string `yaml:"fields,omitempty" json:"fields,omitempty"`
}

// Levels maps severities to threshold values; a nil level is not checked.
type Levels struct {
	Warning  *float64 `yaml:"warning,omitempty" json:"warning,omitempty"`
	Error    *float64 `yaml:"error,omitempty" json:"error,omitempty"`
	Critical *float64 `yaml:"critical,omitempty" json:"critical,omitempty"`
}

// Aggregate is how samples in a window reduce to one value.
type Aggregate string

// Aggregates. Delta and rate are for cumulative counters (a counter reset —
// a drop in value — counts from zero rather than going negative). Change is
// for gauges such as Private Bytes or Handle Count: last minus first value in
// the window, negative when the gauge shrank, so a value that goes up and down
// does not add up to growth.
const (
	AggLast   Aggregate = "last"
	AggAvg    Aggregate = "avg"
	AggMin    Aggregate = "min"
	AggMax    Aggregate = "max"
	AggDelta  Aggregate = "delta"
	AggRate   Aggregate = "rate" // per second
	AggChange Aggregate = "change"
)

// Threshold compares a counter aggregate against levels.
type Threshold struct {
	// Counter is a path \Object(instance)\Counter; "*" as the instance
	// matches every instance (each instance alerts separately).
	Counter   string    `yaml:"counter" json:"counter"`
	Aggregate Aggregate `yaml:"aggregate,omitempty" json:"aggregate,omitempty"` // default last
	Window    Duration  `yaml:"window,omitempty" json:"window,omitempty"`       // default 5m
	// Op is gt, ge, lt or le (default gt): value Op level raises that level.
	Op     string `yaml:"op,omitempty" json:"op,omitempty"`
	Levels Levels `yaml:",inline" json:"levels"`
	// Consecutive requires N consecutive evaluations over a level (default 1).
	Consecutive int `yaml:"consecutive,omitempty" json:"consecutive,omitempty"`
	// Recovery is the value past which an open alert clears (hysteresis);
	// default: the lowest level set.
	Recovery *float64 `yaml:"recovery,omitempty" json:"recovery,omitempty"`
}

// Trend is the PAL pattern for CRM failure counters: Warning when the
// (cumulative) value increases at all, Critical when it rose in each of the
// last Samples samples. It resolves after Samples samples without a rise.
type Trend struct {
	Counter string `yaml:"counter" json:"counter"`
	// Samples is N (default 3).
	Samples int `yaml:"samples,omitempty" json:"samples,omitempty"`
	// MaxSeverity caps the severity (Exchange Sync transient errors never go
	// beyond warning). Default critical.
	MaxSeverity alerts.Severity `yaml:"max_severity,omitempty" json:"max_severity,omitempty"`
}

// Missing raises an availability alert when something is silent for After.
// Exactly one of Agent, Counter or Event is set.
type Missing struct {
	Agent   bool        `yaml:"agent,omitempty" json:"agent,omitempty"`
	Counter string      `yaml:"counter,omitempty" json:"counter,omitempty"`
	Event   *EventMatch `yaml:"event,omitempty" json:"event,omitempty"`
	After   Duration    `yaml:"after" json:"after"`
}

// Correlation turns many matching events into one alert naming them all.
type Correlation struct {
	Event EventMatch `yaml:"event" json:"event"`
	// Count events within Within, from at least MinHosts distinct hosts and
	// MinOrganizations distinct organizations (0 = no requirement).
	Count            int      `yaml:"count" json:"count"`
	MinHosts         int      `yaml:"min_hosts,omitempty" json:"min_hosts,omitempty"`
	MinOrganizations int      `yaml:"min_organizations,omitempty" json:"min_organizations,omitempty"`
	Within           Duration `yaml:"within" json:"within"`
}

// Duration is a time.Duration written as "30s", "5m", "1h" in YAML and JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w (write e.g. 30s, 5m, 2h)", b, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q: must not be negative", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML accepts a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return d.UnmarshalText([]byte(n.Value))
}
