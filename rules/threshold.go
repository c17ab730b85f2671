package rules

import (
	"errors"
	"fmt"
	"math"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// thresholdSpec is a compiled Threshold.
type thresholdSpec struct {
	agg         Aggregate
	window      time.Duration
	op          string
	levels      [3]*float64 // warning, error, critical
	consecutive int
	recovery    float64
}

var levelSeverities = [3]alerts.Severity{alerts.SeverityWarning, alerts.SeverityError, alerts.SeverityCritical}

func compileThreshold(t *Threshold) (*thresholdSpec, event.CounterPath, error) {
	var errs []error
	cp, err := compileCounter(t.Counter)
	if err != nil {
		errs = append(errs, err)
	}
	s := &thresholdSpec{
		agg: t.Aggregate, window: t.Window.D(), op: t.Op, consecutive: t.Consecutive,
		levels: [3]*float64{t.Levels.Warning, t.Levels.Error, t.Levels.Critical},
	}
	if s.agg == "" {
		s.agg = DefaultAggregate
	}
	switch s.agg {
	case AggLast, AggAvg, AggMin, AggMax, AggDelta, AggRate, AggChange:
	default:
		errs = append(errs, fmt.Errorf("aggregate: unknown %q (want last, avg, min, max, delta, rate or change)", s.agg))
	}
	if s.window < 0 {
		errs = append(errs, errors.New("window: must not be negative"))
	}
	if s.window == 0 {
		s.window = DefaultWindow
	}
	if s.op == "" {
		s.op = DefaultOp
	}
	if s.op != "gt" && s.op != "ge" && s.op != "lt" && s.op != "le" {
		errs = append(errs, fmt.Errorf("op: unknown %q (want gt, ge, lt or le)", s.op))
	}
	if s.consecutive < 0 {
		errs = append(errs, errors.New("consecutive: must not be negative"))
	}
	if s.consecutive == 0 {
		s.consecutive = DefaultConsecutive
	}
	errs = append(errs, s.checkLevels(t.Recovery))
	return s, cp, errors.Join(errs...)
}

// checkLevels requires at least one finite level, levels ordered by
// severity in the direction of op, and a recovery on the healthy side.
func (s *thresholdSpec) checkLevels(recovery *float64) error {
	var errs []error
	var prev *float64
	var prevName string
	for i, l := range s.levels {
		name := string(levelSeverities[i])
		if l == nil {
			continue
		}
		if !finite(l) {
			errs = append(errs, fmt.Errorf("%s: must be a finite number", name))
			continue
		}
		if prev != nil && !s.crosses(*l, *prev) && *l != *prev {
			errs = append(errs, fmt.Errorf("%s %v is less severe than %s %v for op %s", name, *l, prevName, *prev, s.op))
		}
		prev, prevName = l, name
	}
	low := s.lowest()
	if low < 0 {
		errs = append(errs, errors.New("levels absent: set warning, error and/or critical"))
		return errors.Join(errs...)
	}
	s.recovery = *s.levels[low]
	if recovery != nil {
		switch {
		case !finite(recovery):
			errs = append(errs, errors.New("recovery: must be a finite number"))
		case s.crosses(*recovery, s.recovery) && *recovery != s.recovery:
			errs = append(errs, fmt.Errorf("recovery %v is past the %s level %v: an alert would clear while still over it", *recovery, levelSeverities[low], s.recovery))
		default:
			s.recovery = *recovery
		}
	}
	return errors.Join(errs...)
}

// crosses reports whether v is over level for the rule's op.
func (s *thresholdSpec) crosses(v, level float64) bool {
	switch s.op {
	case "ge":
		return v >= level
	case "lt":
		return v < level
	case "le":
		return v <= level
	}
	return v > level
}

// lowest is the index of the least severe level set, or -1.
func (s *thresholdSpec) lowest() int {
	for i, l := range s.levels {
		if l != nil {
			return i
		}
	}
	return -1
}

// level is the most severe level v crosses, or "".
func (s *thresholdSpec) level(v float64) alerts.Severity {
	for i := 2; i >= 0; i-- {
		if l := s.levels[i]; l != nil && s.crosses(v, *l) {
			return levelSeverities[i]
		}
	}
	return ""
}

// recovered reports whether v is past the recovery value, so an open alert
// clears (hysteresis: between recovery and the lowest level it stays).
func (s *thresholdSpec) recovered(v float64) bool { return !s.crosses(v, s.recovery) }

// staleAfter is how long a threshold series may be silent before its state
// is dropped and its alert resolved: an instance that went away (a
// recycled w3wp#2, a removed disk) must not hold an alert open forever.
func (s *thresholdSpec) staleAfter() time.Duration { return max(3*s.window, staleMin) }

type point struct {
	t int64 // unix nanoseconds
	v float64
}

// push appends a point and drops those older than the window (the window
// is inclusive: with 1m samples, a 5m window holds 6 points).
func (se *series) push(t time.Time, v float64, window time.Duration) {
	ns := t.UnixNano()
	cut := ns - int64(window)
	i := 0
	for i < len(se.pts) && se.pts[i].t < cut {
		i++
	}
	if len(se.pts)-i >= maxSeriesPoints {
		i = len(se.pts) - maxSeriesPoints + 1
	}
	if i > 0 {
		n := copy(se.pts, se.pts[i:])
		se.pts = se.pts[:n]
	}
	se.pts = append(se.pts, point{ns, v})
}

// aggregate reduces the window; delta and rate need two points and treat a
// drop (counter reset) as counting from zero.
func aggregate(agg Aggregate, pts []point) (float64, bool) {
	n := len(pts)
	if n == 0 {
		return 0, false
	}
	switch agg {
	case AggAvg:
		sum := 0.0
		for _, p := range pts {
			sum += p.v
		}
		return sum / float64(n), true
	case AggMin, AggMax:
		v := pts[0].v
		for _, p := range pts[1:] {
			if (agg == AggMin) == (p.v < v) {
				v = p.v
			}
		}
		return v, true
	case AggChange:
		if n < 2 {
			return 0, false
		}
		return pts[n-1].v - pts[0].v, true
	case AggDelta, AggRate:
		if n < 2 {
			return 0, false
		}
		d := 0.0
		for i := 1; i < n; i++ {
			if inc := pts[i].v - pts[i-1].v; inc >= 0 {
				d += inc
			} else {
				d += pts[i].v
			}
		}
		if agg == AggDelta {
			return d, true
		}
		secs := float64(pts[n-1].t-pts[0].t) / 1e9
		if secs <= 0 {
			return 0, false
		}
		return d / secs, true
	}
	return pts[n-1].v, true
}

func (e *Engine) onThreshold(r *compiledRule, s *event.Sample, cp *event.CounterPath) {
	se, ok := e.observe(r, s, cp)
	if !ok {
		return
	}
	th := r.th
	se.push(s.Time, s.Value, th.window)
	v, ok := aggregate(th.agg, se.pts)
	if !ok || math.IsNaN(v) {
		return
	}
	st := e.lookup(r.id, se.alertKey)
	sev := th.level(v)
	if st.holds(se.key) && sev == "" && !th.recovered(v) {
		sev = levelSeverities[th.lowest()]
	}
	if sev != "" {
		se.consec++
	} else {
		se.consec = 0
	}
	if st == nil && (sev == "" || se.consec < th.consecutive) {
		return
	}
	if st = e.setMember(r, se.alertKey, se.key, sev, s.Time, sev != ""); st != nil {
		st.setSeriesValue(se, s, v)
	}
}

func (st *alertState) setSeriesValue(se *series, s *event.Sample, v float64) {
	st.value, st.hasValue = v, true
	st.counter, st.instance, st.host = se.counter, se.key.instance, se.key.host
	st.a.Hosts = addListed(st.a.Hosts, se.key.host)
	if st.a.Fields == nil {
		st.a.Fields = map[string]string{}
	}
	if st.a.Fields["counter"] != se.counter {
		st.a.Fields["counter"] = se.counter
	}
	if se.key.instance != "" && st.a.Fields["instance"] != se.key.instance {
		st.a.Fields["instance"] = se.key.instance
	}
}
