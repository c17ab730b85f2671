package rules

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"crmwatch/event"
)

// ProcessSamples evaluates counter samples against threshold, trend and
// missing-counter rules and sends the resulting changes in one call.
func (e *Engine) ProcessSamples(ctx context.Context, ss []event.Sample) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := e.set
	for i := range ss {
		s := &ss[i]
		e.advance(s.Time)
		if len(set.samples) == 0 {
			continue
		}
		cp, err := event.ParseCounterPath(s.Counter)
		if err != nil {
			e.met.evalError("bad_counter")
			continue
		}
		e.lowBuf = counterKey(e.lowBuf, cp)
		e.evalSample(set.samples[string(e.lowBuf)], s, &cp)
		if len(set.hosts) > 0 {
			e.hostBuf = asciiLower(e.hostBuf[:0], s.Host)
			if hr := set.hosts[string(e.hostBuf)]; hr != nil {
				e.evalSample(hr.samples[string(e.lowBuf)], s, &cp)
			}
		}
	}
	e.met.samples.Add(float64(len(ss)))
	return e.flush(ctx)
}

func (e *Engine) evalSample(ens []sampleEntry, s *event.Sample, cp *event.CounterPath) {
	for _, en := range ens {
		if !en.matchInstance(cp.Instance) || !e.applies(en.r, s.Host, s.Role) {
			continue
		}
		e.met.match(en.r.kind)
		switch en.r.kind {
		case KindThreshold:
			e.onThreshold(en.r, s, cp)
		case KindTrend:
			e.onTrend(en.r, s, cp)
		case KindMissing:
			e.onCounterSeen(en.r, s, cp)
		}
	}
}

// Tick does the time-driven work at now: resolve_after timeouts of event
// and correlation alerts, correlation window pruning, missing data, and
// (once a minute of observation time) dropping stale counter series.
func (e *Engine) Tick(ctx context.Context, now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now)
	sweep := now.Sub(e.swept) >= sweepEvery
	if sweep {
		e.swept = now
		e.pruneRecent(now)
	}
	for _, r := range e.set.rules {
		switch r.kind {
		case KindEvent:
			e.tickResolveAfter(r, now)
		case KindCorrelation:
			e.tickResolveAfter(r, now)
			e.tickCorrelation(r, now)
		case KindMissing:
			e.tickMissing(r, now)
		case KindThreshold, KindTrend:
			if sweep {
				e.sweepStale(r, now)
			}
		}
	}
	return e.flush(ctx)
}

// sortedMapKeys gives map iteration a stable order so the changes of one
// Tick come out in the same order on every server.
func sortedMapKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

func sortedSeriesKeys(m map[seriesKey]*series) []seriesKey {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, compareSeriesKeys)
	return ks
}

func compareSeriesKeys(a, b seriesKey) int {
	return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.instance, b.instance))
}
