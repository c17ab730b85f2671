package history

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/dashboards"
	"crmwatch/event"
	"crmwatch/packs"
)

// Source is what the history reads (store/sqlstore has it); rows need
// count, min, max and sum, not the sketch.
type Source interface {
	RollupSeries(ctx context.Context) ([]rollup.SeriesName, error)
	ScanSeriesOf(ctx context.Context, res rollup.Resolution, host, counter string, from, to time.Time, fn func(*rollup.SeriesRow) error) error
}

// Limits of one panel's answer, so a broad query cannot make the server
// read or send the whole store.
const (
	MaxSeries = 200
	MaxPoints = 3000 // per series
)

// Range is the time range of a panel and the hosts the dashboard's host
// variable selects (none: every host).
type Range struct {
	From, To time.Time
	Hosts    []string
}

// Step is the bucket width a range is drawn at: minutes up to two days,
// hours up to 90 days, days beyond.
func (r Range) Step() rollup.Resolution {
	switch d := r.To.Sub(r.From); {
	case d <= 48*time.Hour:
		return rollup.Minute
	case d <= 90*24*time.Hour:
		return rollup.Hour
	}
	return rollup.Day
}

// hostRegexp is what $host stands for: the chosen hosts, or any.
func (r Range) hostRegexp() string {
	if len(r.Hosts) == 0 {
		return ".*"
	}
	q := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		q[i] = regexp.QuoteMeta(h)
	}
	return strings.Join(q, "|")
}

// QueryResult is one query of a panel over the range: its series, or why
// there are none.
type QueryResult struct {
	Expr   string `json:"expr"`
	Legend string `json:"legend,omitempty"`
	// Step is the width of the buckets the points stand for ("1m", "1h", "1d").
	Step   string   `json:"step,omitempty"`
	Series []Series `json:"series"`
	// NotRecorded says why this server keeps no history for the query;
	// the console shows it instead of a chart.
	NotRecorded string `json:"not_recorded,omitempty"`
	// Truncated is set when more than MaxSeries series matched.
	Truncated bool `json:"truncated,omitempty"`
	// RecordedSince is set when the answer comes from this server's own
	// metrics (a Recorder): its readings start then, in this process.
	RecordedSince *time.Time `json:"recorded_since,omitempty"`
}

// Series is one line of a chart.
type Series struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	// Points are [Unix seconds of the bucket's start, value], oldest first.
	Points [][2]float64 `json:"points"`
}

// series is a series while it is evaluated: values by bucket start.
type series struct {
	labels map[string]string
	values map[int64]float64
}

// Evaluate answers one query of a panel over r from the rollups in src.
func Evaluate(ctx context.Context, src Source, q dashboards.Query, r Range) (QueryResult, error) {
	return EvaluateWith(ctx, src, nil, q, r)
}

// EvaluateWith is Evaluate with the server's own metrics from rec too
// (nil: none recorded).
func EvaluateWith(ctx context.Context, src Source, rec *Recorder, q dashboards.Query, r Range) (QueryResult, error) {
	out := QueryResult{Expr: q.Expr, Legend: q.Legend, Series: []Series{}}
	n, err := compile(q, r.hostRegexp(), rec != nil)
	var nr *NotRecorded
	if errors.As(err, &nr) {
		out.NotRecorded = nr.Reason
		return out, nil
	}
	if err != nil {
		return out, err
	}
	e := &evaluator{ctx: ctx, src: src, rec: rec, r: r, step: r.Step()}
	ss, err := e.eval(n)
	if errors.As(err, &nr) {
		out.NotRecorded = nr.Reason
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.Step, out.Truncated = e.step.String(), e.truncated
	if e.recorded {
		since := rec.Since()
		out.RecordedSince = &since
	}
	for _, s := range ss {
		if len(s.values) > 0 { // a rate needs two readings: a series may have none yet
			out.Series = append(out.Series, s.export(q.Legend))
		}
	}
	slices.SortFunc(out.Series, func(a, b Series) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

type evaluator struct {
	ctx       context.Context
	src       Source
	rec       *Recorder
	recorded  bool // some series came from rec
	r         Range
	step      rollup.Resolution
	names     []rollup.SeriesName
	truncated bool
}

func (e *evaluator) eval(n node) ([]series, error) {
	switch n := n.(type) {
	case selectorNode:
		if n.metric != packs.CounterMetric {
			return e.readRecorded(n, 0), nil
		}
		return e.read(n, e.step, (*rollup.Agg).Avg)
	case rateNode:
		in := e.readRecorded(n.sel, n.window)
		return rate(n, in), nil
	case overTimeNode:
		res, ok := resolutionOf(n.window)
		if !ok {
			return nil, &NotRecorded{Reason: fmt.Sprintf("%s_over_time over %s: the rollups keep 1m, 1h and 1d buckets only", n.fn, n.window)}
		}
		if e.r.To.Sub(e.r.From)/res.Duration() > MaxPoints {
			return nil, &NotRecorded{Reason: fmt.Sprintf("%s buckets over this range are more than %d points: choose a shorter range", res, MaxPoints)}
		}
		e.step = res
		f := map[string]func(*rollup.Agg) float64{"avg": (*rollup.Agg).Avg,
			"min": func(a *rollup.Agg) float64 { return a.Min }, "max": func(a *rollup.Agg) float64 { return a.Max }}[n.fn]
		return e.read(n.sel, res, f)
	case aggNode:
		in, err := e.eval(n.arg)
		if err != nil {
			return nil, err
		}
		return aggregate(n, in), nil
	case arithNode:
		if n.numberOnly {
			return nil, &NotRecorded{Reason: "a number alone has no history"}
		}
		in, err := e.eval(n.vec)
		if err != nil {
			return nil, err
		}
		for _, s := range in {
			for t, v := range s.values {
				if n.numOnLeft {
					s.values[t] = apply(n.op, n.num, v)
				} else {
					s.values[t] = apply(n.op, v, n.num)
				}
			}
		}
		return in, nil
	}
	return nil, fmt.Errorf("history: unknown node %T", n)
}

// readRecorded reads a server metric from the Recorder at 1-minute
// readings, from back before the range when a window needs it.
func (e *evaluator) readRecorded(sel selectorNode, back time.Duration) []series {
	e.recorded, e.step = true, rollup.Minute
	var out []series
	for _, s := range e.rec.read(sel.metric, e.r.From.Add(-back).Unix(), e.r.To.Unix()) {
		if sel.matches(s.labels) && len(s.values) > 0 {
			out = append(out, s)
		}
	}
	if len(out) > MaxSeries {
		out, e.truncated = out[:MaxSeries], true
	}
	return out
}

// rate is the per-second rate (or the increase) of each counter over the
// window ending at each reading, counting resets as Prometheus does; a
// reading with no earlier one in its window has no value.
func rate(n rateNode, in []series) []series {
	w := int64(n.window / time.Second)
	for i := range in {
		ts := slices.Sorted(maps.Keys(in[i].values))
		out := map[int64]float64{}
		for k, t := range ts {
			j := k
			for j > 0 && ts[j-1] >= t-w {
				j--
			}
			if j == k {
				continue
			}
			inc := 0.0
			for x := j + 1; x <= k; x++ {
				d := in[i].values[ts[x]] - in[i].values[ts[x-1]]
				if d < 0 { // a reset: the counter started again from 0
					d = in[i].values[ts[x]]
				}
				inc += d
			}
			if n.fn == "increase" {
				out[t] = inc * float64(w) / float64(t-ts[j])
			} else {
				out[t] = inc / float64(t-ts[j])
			}
		}
		in[i].values = out
		delete(in[i].labels, "__name__")
	}
	return in
}

func resolutionOf(d time.Duration) (rollup.Resolution, bool) {
	for _, r := range rollup.Resolutions {
		if r.Duration() == d {
			return r, true
		}
	}
	return 0, false
}

// read selects the stored series whose labels match sel and reads their
// buckets of res in the range, valued by f.
func (e *evaluator) read(sel selectorNode, res rollup.Resolution, f func(*rollup.Agg) float64) ([]series, error) {
	if e.names == nil {
		var err error
		if e.names, err = e.src.RollupSeries(e.ctx); err != nil {
			return nil, err
		}
	}
	from, to := time.Unix(res.Start(e.r.From), 0), e.r.To
	var out []series
	for _, name := range e.names {
		labels, ok := counterLabels(name)
		if !ok || !sel.matches(labels) {
			continue
		}
		if len(out) == MaxSeries {
			e.truncated = true
			break
		}
		s := series{labels: labels, values: map[int64]float64{}}
		err := e.src.ScanSeriesOf(e.ctx, res, name.Host, name.Counter, from, to, func(r *rollup.SeriesRow) error {
			if v := f(&r.Agg); !math.IsNaN(v) {
				s.values[r.Bucket] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(s.values) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// counterLabels are a stored series' labels as the agent exposes them
// (packs.CounterSeries), so a query matches here what it matches in
// Prometheus.
func counterLabels(n rollup.SeriesName) (map[string]string, bool) {
	cp, err := event.ParseCounterPath(n.Counter)
	if err != nil {
		return nil, false
	}
	_, ls := packs.CounterSeries(n.Host, cp)
	m := map[string]string{"__name__": packs.CounterMetric}
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m, true
}

// matches follows PromQL: a missing label is the empty string.
func (s selectorNode) matches(labels map[string]string) bool {
	for _, m := range s.matchers {
		v := labels[m.label]
		var ok bool
		switch m.op {
		case "=":
			ok = v == m.value
		case "!=":
			ok = v != m.value
		case "=~":
			ok = m.re.MatchString(v)
		case "!~":
			ok = !m.re.MatchString(v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func aggregate(n aggNode, in []series) []series {
	groups := map[string]*series{}
	counts := map[string]map[int64]int{}
	var order []string
	for _, s := range in {
		labels := map[string]string{}
		for _, l := range n.by {
			if v, ok := s.labels[l]; ok && v != "" {
				labels[l] = v
			}
		}
		key := fmt.Sprint(sortedPairs(labels))
		g := groups[key]
		if g == nil {
			g = &series{labels: labels, values: map[int64]float64{}}
			groups[key], counts[key] = g, map[int64]int{}
			order = append(order, key)
		}
		for t, v := range s.values {
			old, seen := g.values[t]
			switch {
			case !seen:
				g.values[t] = v
			case n.op == "sum" || n.op == "avg":
				g.values[t] = old + v
			case n.op == "min":
				g.values[t] = min(old, v)
			case n.op == "max":
				g.values[t] = max(old, v)
			}
			counts[key][t]++
		}
	}
	out := make([]series, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if n.op == "avg" {
			for t, c := range counts[k] {
				g.values[t] /= float64(c)
			}
		}
		out = append(out, *g)
	}
	return out
}

func sortedPairs(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

func (s series) export(legend string) Series {
	out := Series{Labels: map[string]string{}}
	for k, v := range s.labels {
		if k != "__name__" {
			out.Labels[k] = v
		}
	}
	if legend != "" {
		out.Name = strings.TrimSpace(legendLabel.ReplaceAllStringFunc(legend, func(m string) string {
			return out.Labels[legendLabel.FindStringSubmatch(m)[1]]
		}))
	}
	if out.Name == "" {
		out.Name = "{" + strings.Join(sortedPairs(out.Labels), ", ") + "}"
	}
	for _, t := range slices.Sorted(maps.Keys(s.values)) {
		out.Points = append(out.Points, [2]float64{float64(t), s.values[t]})
	}
	if len(out.Points) > MaxPoints {
		out.Points = out.Points[len(out.Points)-MaxPoints:]
	}
	return out
}
