package rules

import (
	"slices"
	"strings"
	"time"

	"crmwatch/event"
)

// corrWindow holds the matching events of one correlation key within the
// rule's window, with the distinct hosts and organizations among them.
type corrWindow struct {
	evs   []event.Event
	hosts map[string]int
	orgs  map[string]int
}

func (w *corrWindow) add(ev *event.Event) {
	if len(w.evs) >= maxCorrelationEntries {
		w.drop(1)
	}
	w.evs = append(w.evs, *ev)
	w.hosts[ev.Host]++
	if ev.Organization != "" {
		w.orgs[ev.Organization]++
	}
}

// prune drops events older than cut (arrival order; the window tolerates
// slightly out-of-order events).
func (w *corrWindow) prune(cut time.Time) {
	n := 0
	for n < len(w.evs) && w.evs[n].Time.Before(cut) {
		n++
	}
	w.drop(n)
}

func (w *corrWindow) drop(n int) {
	for _, ev := range w.evs[:n] {
		if w.hosts[ev.Host]--; w.hosts[ev.Host] <= 0 {
			delete(w.hosts, ev.Host)
		}
		if ev.Organization != "" {
			if w.orgs[ev.Organization]--; w.orgs[ev.Organization] <= 0 {
				delete(w.orgs, ev.Organization)
			}
		}
	}
	k := copy(w.evs, w.evs[n:])
	clear(w.evs[k:])
	w.evs = w.evs[:k]
}

func (w *corrWindow) fires(c *Correlation) bool {
	return len(w.evs) >= c.Count && len(w.hosts) >= c.MinHosts && len(w.orgs) >= c.MinOrganizations
}

// onCorrelation counts a matching event; when the window holds Count events
// from enough hosts and organizations it raises ONE alert naming them all.
// While that alert is open further events repeat it.
func (e *Engine) onCorrelation(r *compiledRule, ev *event.Event, caps []string) {
	key := e.eventKey(r, ev, caps)
	if st := e.lookupBytes(r.id, key); st != nil {
		if ev.Time.Before(st.a.LastSeen.Add(r.resolveAfter)) {
			e.repeat(st, ev.Time)
			if sev := r.eventSeverity(ev.Level); sev.Rank() > st.a.Severity.Rank() {
				e.setSeverity(st, sev)
			}
			st.noteEvent(r, ev, caps)
			return
		}
		e.resolve(st, st.a.LastSeen.Add(r.resolveAfter))
	}
	rs := e.stateOf(r)
	w := rs.corr[string(key)]
	if w == nil {
		w = &corrWindow{hosts: map[string]int{}, orgs: map[string]int{}}
		rs.corr[string(key)] = w
	}
	w.prune(ev.Time.Add(-r.corr.Within.D()))
	w.add(ev)
	if !w.fires(r.corr) {
		return
	}
	e.raiseCorrelation(r, string(key), w)
	delete(rs.corr, string(key))
}

func (e *Engine) raiseCorrelation(r *compiledRule, key string, w *corrWindow) {
	first, top := w.evs[0].Time, event.LevelUnknown
	for i := range w.evs {
		if w.evs[i].Time.Before(first) {
			first = w.evs[i].Time
		}
		top = max(top, w.evs[i].Level)
	}
	st := e.raise(r, key, first, r.eventSeverity(top))
	st.a.RepeatCount = len(w.evs)
	hosts, orgs := sortedKeys(w.hosts), sortedKeys(w.orgs)
	st.host = hosts[0]
	if len(orgs) > 0 {
		st.org = orgs[0]
	}
	for _, h := range hosts {
		st.a.Hosts = addListed(st.a.Hosts, h)
	}
	for _, o := range orgs {
		st.a.Organizations = addListed(st.a.Organizations, o)
	}
	last := w.evs[len(w.evs)-1]
	if last.Time.After(st.a.LastSeen) {
		st.a.LastSeen = last.Time
	}
	st.message = last.Message
	for i := range w.evs {
		st.evs.Add(&w.evs[i])
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, strings.Clone(k))
	}
	slices.Sort(out)
	return out
}

// tickCorrelation resolves quiet correlation alerts and prunes windows.
func (e *Engine) tickCorrelation(r *compiledRule, now time.Time) {
	rs := e.stateOf(r)
	cut := now.Add(-r.corr.Within.D())
	for k, w := range rs.corr {
		w.prune(cut)
		if len(w.evs) == 0 {
			delete(rs.corr, k)
		}
	}
}

// tickResolveAfter resolves event and correlation alerts that saw no
// repeat for resolve_after, at LastSeen+resolve_after.
func (e *Engine) tickResolveAfter(r *compiledRule, now time.Time) {
	for _, st := range e.open[r.id] {
		if at := st.a.LastSeen.Add(r.resolveAfter); !now.Before(at) {
			e.resolve(st, at)
		}
	}
}
