package rules

import (
	"context"
	"testing"
	"time"

	"crmwatch/event"
)

// Exports for the benchmarks through the built-in pack
// (builtin_bench_test.go). They import packs, which imports rules, so they
// live in package rules_test and reach the shared workload through these.
var (
	BenchEvents     = benchEvents
	BenchHostRoles  = benchHostRoles
	BenchSeries     = benchSeries
	ExtraEventRules = extraEventRules
	NoopSender      = noopSender
	Quiet           = quiet
	T0              = t0
	BenchBatch      = benchBatch
)

// ParseRules parses a YAML rule list.
func ParseRules(t testing.TB, src string) []Rule { return parseRules(t, src) }

// RunEvents pushes b.N events through process in server-sized batches.
func RunEvents(b *testing.B, e *Engine, evs []event.Event, process func(context.Context, []event.Event) error) {
	runEvents(b, e, evs, process)
}

// NaiveProcess evaluates every rule against every event (the baseline).
func NaiveProcess(e *Engine) func(context.Context, []event.Event) error { return naiveProcess(e) }

// RunSpeedup reports naive time / indexed time on the same batches.
func RunSpeedup(b *testing.B, indexed, naive *Engine, evs []event.Event) {
	runSpeedup(b, indexed, naive, evs)
}

// ProcessCPU is the process's CPU time so far; ReportRates reports
// observations per wall-clock and per CPU second.
func ProcessCPU() time.Duration                                 { return processCPU() }
func ReportRates(b *testing.B, unit string, cpu0 time.Duration) { reportRates(b, unit, cpu0) }
