package packs

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"crmwatch/event"
)

// CounterMetric is the one Prometheus metric performance-counter samples
// are exposed under; the counter path is carried in labels, so the metric
// name never depends on a counter name (which may hold %, /, \, ( or $).
// Not "crmwatch_counter_value": promtool check metrics refuses a name
// with "_counter_" in it (a type in the name).
const CounterMetric = "crmwatch_perfcounter_value"

// Labels of CounterMetric. The instance label is not called "instance":
// Prometheus sets that label to the scrape target and would rename an
// exposed "instance" to "exported_instance".
const (
	LabelHost     = "host"
	LabelObject   = "object"
	LabelCounter  = "counter"
	LabelInstance = "counter_instance"
)

// DefaultSampleInterval is the counter sample interval when no collect:
// entry of a pack names the counter (PAL's SampleInterval; the default of
// CounterSet.Interval).
const DefaultSampleInterval = 15 * time.Second

// MetricLabel is one label of a series, or one equality matcher.
type MetricLabel struct {
	Name, Value string
}

// CounterSeries is THE mapping from a counter path to a Prometheus series,
// shared by whatever exposes samples and by ExportPrometheus, so the two
// cannot drift apart. It returns CounterMetric and labels sorted by name:
//
//   - object, counter and counter_instance hold the path's parts in lower
//     case: PDH names are case-insensitive and the rules engine compares them
//     case-insensitively, so one canonical spelling makes equality exact;
//   - counter_instance is "" for single-instance objects (Prometheus treats
//     an empty label as absent, and the matcher counter_instance="" selects
//     exactly those series) and is left out for the wildcard instance "*",
//     so every instance matches and is its own series;
//   - host is host as given (the agent's name, as on every event), else the
//     path's \\MACHINE part; left out when both are empty (a rule selects
//     every host).
//
// A collector exposing a sample calls CounterSeries(sample.Host, path) with
// a concrete instance and sets the gauge to the sample's value.
func CounterSeries(host string, cp event.CounterPath) (string, []MetricLabel) {
	ls := make([]MetricLabel, 0, 4)
	ls = append(ls, MetricLabel{LabelCounter, strings.ToLower(cp.Counter)})
	if cp.Instance != "*" {
		ls = append(ls, MetricLabel{LabelInstance, strings.ToLower(cp.Instance)})
	}
	if host = cmp.Or(host, cp.Machine); host != "" {
		ls = append(ls, MetricLabel{LabelHost, host})
	}
	ls = append(ls, MetricLabel{LabelObject, strings.ToLower(cp.Object)})
	return CounterMetric, ls
}

// Selector formats a PromQL series selector, metric{a="x",b="y"}; label
// values are quoted as PromQL string literals (Go escaping: \\, \", \n, …).
func Selector(metric string, labels []MetricLabel) string {
	var b strings.Builder
	b.WriteString(metric)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}
