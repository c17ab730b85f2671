package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// trendSpec is a compiled Trend.
type trendSpec struct {
	samples int
	max     alerts.Severity
}

func compileTrend(t *Trend) (*trendSpec, event.CounterPath, error) {
	var errs []error
	cp, err := compileCounter(t.Counter)
	if err != nil {
		errs = append(errs, err)
	}
	s := &trendSpec{samples: t.Samples, max: t.MaxSeverity}
	if s.samples < 0 {
		errs = append(errs, errors.New("samples: must not be negative"))
	}
	if s.samples == 0 {
		s.samples = DefaultTrendSamples
	}
	if s.max == "" {
		s.max = DefaultTrendMax
	}
	if s.max.Rank() < alerts.SeverityWarning.Rank() {
		errs = append(errs, fmt.Errorf("max_severity: %q (want warning, error or critical)", s.max))
	}
	return s, cp, errors.Join(errs...)
}

// staleAfter: a trend series silent for three times N sample intervals
// (at least staleMin) is dropped and its alert resolved.
func (s *trendSpec) staleAfter(interval time.Duration) time.Duration {
	return max(3*time.Duration(s.samples)*interval, staleMin)
}

// onTrend applies the PAL pattern to a cumulative failure counter: Warning
// when it rose, Critical when it rose in each of the last N samples, capped
// at max_severity; resolved after N samples without a rise. A drop is a
// counter reset (service restart): not a rise, and the new baseline.
func (e *Engine) onTrend(r *compiledRule, s *event.Sample, cp *event.CounterPath) {
	se, ok := e.observe(r, s, cp)
	if !ok {
		return
	}
	if se.n == 1 {
		se.prev = s.Value
		return
	}
	rose := s.Value > se.prev
	se.prev = s.Value
	if rose {
		se.rises++
		se.flat = 0
	} else {
		se.rises = 0
		se.flat++
	}
	st := e.lookup(r.id, se.alertKey)
	var sev alerts.Severity
	switch {
	case rose && se.rises >= r.trend.samples:
		sev = alerts.SeverityCritical
	case rose:
		sev = alerts.SeverityWarning
	case st.holds(se.key) && se.flat < r.trend.samples:
		sev = alerts.SeverityWarning // still open, no longer rising
	}
	if sev.Rank() > r.trend.max.Rank() {
		sev = r.trend.max
	}
	if st == nil && sev == "" {
		return
	}
	if st = e.setMember(r, se.alertKey, se.key, sev, s.Time, rose); st != nil {
		st.setSeriesValue(se, s, s.Value)
	}
}

// sweepStale drops counter series of threshold and trend rules silent for
// their stale time; their alerts resolve at last sample + stale time.
func (e *Engine) sweepStale(r *compiledRule, now time.Time) {
	rs := e.stateOf(r)
	var stale []seriesKey
	for sk, se := range rs.series {
		if !now.Before(se.last.Add(r.staleAfter(se))) {
			stale = append(stale, sk)
		}
	}
	slices.SortFunc(stale, compareSeriesKeys)
	for _, sk := range stale {
		se := rs.series[sk]
		delete(rs.series, sk)
		if st := e.lookup(r.id, se.alertKey); st != nil {
			if _, member := st.members[sk]; member || len(st.members) == 0 {
				e.setMember(r, se.alertKey, sk, "", se.last.Add(r.staleAfter(se)), false)
			}
		}
	}
}

func (r *compiledRule) staleAfter(se *series) time.Duration {
	switch r.kind {
	case KindThreshold:
		return r.th.staleAfter()
	case KindTrend:
		return r.trend.staleAfter(se.interval)
	}
	return staleMin
}
