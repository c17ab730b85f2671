package collectors

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"crmwatch/event"
)

// Plan is what the management packs ask a host to collect: the union of the
// packs' collect: sections for the host's roles. The server publishes one
// plan per role (packs.Plans); an agent merges the plans of its roles and
// hands the result to every collector config that implements Planned.
type Plan struct {
	// Roles the plan was made for (informational).
	Roles []event.Role `json:"roles,omitempty"`
	// Packs names the packs and versions the plan comes from, e.g.
	// "crm 1.0.0" (informational).
	Packs     []string       `json:"packs,omitempty"`
	Traces    []TraceSource  `json:"traces,omitempty"`
	EventLog  []EventLogSpec `json:"eventlog,omitempty"`
	Counters  []CounterSet   `json:"counters,omitempty"`
	SNMPTraps []TrapMapping  `json:"snmp_traps,omitempty"`
}

// TraceSource is a CRM trace directory and a file-name glob ("" = *.log).
type TraceSource struct {
	Directory string `json:"directory"`
	Pattern   string `json:"pattern,omitempty"`
}

// EventLogSpec reads one event-log channel, keeping the listed sources at
// MinLevel and above ("" = warning).
type EventLogSpec struct {
	Channel  string   `json:"channel"`
	Sources  []string `json:"sources,omitempty"`
	MinLevel string   `json:"min_level,omitempty"`
}

// CounterSet samples counter paths every Interval (0 = the collector's
// default interval).
type CounterSet struct {
	Paths    []string      `json:"paths"`
	Interval time.Duration `json:"interval,omitempty"`
}

// TrapMapping turns an SNMP trap OID into an event.
type TrapMapping struct {
	OID     string `json:"oid"`
	Name    string `json:"name"`
	Level   string `json:"level"`
	Message string `json:"message,omitempty"`
}

// Planned is a collector config that takes its part of a Plan.
type Planned interface {
	Config
	// ApplyPlan merges the plan's part for this collector into the config
	// (operator settings stay) and reports whether the plan asks this
	// collector to collect anything on this host.
	ApplyPlan(p Plan) bool
}

// IsZero reports whether the plan asks for nothing.
func (p Plan) IsZero() bool {
	return len(p.Traces) == 0 && len(p.EventLog) == 0 && len(p.Counters) == 0 && len(p.SNMPTraps) == 0
}

// MergePlans is the union of plans: traces and counter paths at an interval
// once each (a path asked for at two intervals stays in both sets: only
// the collector knows what the default interval 0 is, and it reads each
// path at the shortest), event-log channels
// with their sources merged at the least severe level asked for, traps
// once per OID (the first plan's mapping wins). The result is sorted, so
// equal unions compare equal.
func MergePlans(ps ...Plan) Plan {
	var out Plan
	traces := map[TraceSource]bool{}
	channels := map[string]*EventLogSpec{}
	counters := map[counterAt]bool{}
	traps := map[string]TrapMapping{}
	packs := map[string]bool{}
	for _, p := range ps {
		for _, r := range p.Roles {
			out.Roles = event.AddRole(out.Roles, r)
		}
		for _, n := range p.Packs {
			packs[n] = true
		}
		for _, t := range p.Traces {
			traces[t] = true
		}
		for _, e := range p.EventLog {
			mergeChannel(channels, e)
		}
		for _, cs := range p.Counters {
			for _, path := range cs.Paths {
				counters[counterAt{path, cs.Interval}] = true
			}
		}
		for _, t := range p.SNMPTraps {
			if _, ok := traps[t.OID]; !ok {
				traps[t.OID] = t
			}
		}
	}
	out.Packs = sortedKeys(packs)
	for t := range traces {
		out.Traces = append(out.Traces, t)
	}
	slices.SortFunc(out.Traces, func(a, b TraceSource) int {
		return cmp.Or(strings.Compare(a.Directory, b.Directory), strings.Compare(a.Pattern, b.Pattern))
	})
	for _, name := range sortedKeys(channels) {
		out.EventLog = append(out.EventLog, *channels[name])
	}
	out.Counters = counterSets(counters)
	for _, oid := range sortedKeys(traps) {
		out.SNMPTraps = append(out.SNMPTraps, traps[oid])
	}
	return out
}

// levelRank orders event-log levels from least to most severe; unknown
// names rank as the default (warning).
func levelRank(l string) int {
	if v, err := event.ParseLevel(cmp.Or(l, "warning")); err == nil && v != event.LevelUnknown {
		return int(v)
	}
	return int(event.LevelWarning)
}

func mergeChannel(channels map[string]*EventLogSpec, e EventLogSpec) {
	cur := channels[e.Channel]
	if cur == nil {
		c := EventLogSpec{Channel: e.Channel, MinLevel: e.MinLevel, Sources: slices.Clone(e.Sources)}
		slices.Sort(c.Sources)
		c.Sources = slices.Compact(c.Sources)
		channels[e.Channel] = &c
		return
	}
	if levelRank(e.MinLevel) < levelRank(cur.MinLevel) {
		cur.MinLevel = e.MinLevel
	}
	cur.Sources = append(cur.Sources, e.Sources...)
	slices.Sort(cur.Sources)
	cur.Sources = slices.Compact(cur.Sources)
}

type counterAt struct {
	path     string
	interval time.Duration
}

// counterSets groups paths by interval, both sorted.
func counterSets(counters map[counterAt]bool) []CounterSet {
	byInterval := map[time.Duration][]string{}
	for c := range counters {
		byInterval[c.interval] = append(byInterval[c.interval], c.path)
	}
	var out []CounterSet
	for d, paths := range byInterval {
		slices.Sort(paths)
		out = append(out, CounterSet{Paths: paths, Interval: d})
	}
	slices.SortFunc(out, func(a, b CounterSet) int { return cmp.Compare(a.Interval, b.Interval) })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TraceDirectories is implemented by configs of collectors that follow
// CRM trace folders: role discovery (--roles auto) reads the ServerRole
// header of the files there.
type TraceDirectories interface {
	TraceDirectories() (dirs []string, pattern string)
}
