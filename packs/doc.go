// Package packs loads, validates and resolves management packs: versioned
// directories of YAML files (pack.yaml, rules/*.yaml, collect/*.yaml,
// dashboards/*.yaml, reports/*.yaml) that say what to collect per CRM role,
// which rules raise which alerts, and what an operator should do about them.
//
// Loading reports every problem at once with file and line, never panics on
// bad input, and checks each file against a JSON Schema embedded in the
// binary before decoding it strictly. Operators layer overrides (per host,
// server group or role) on a pack without editing it; Effective resolves the
// rules one target sees. What reads loaded packs lives beside it: the unit-test
// runner (packs/packtest), the Prometheus rule exporter (packs/promexport).
// CounterSeries, the one counter-to-metric mapping, stays here because both
// the agent's /metrics and the exporter use it.
//
// The pack format is documented in docs/packs.md.
package packs
