package rules

import (
	"slices"
	"strings"
	"time"

	"crmwatch/event"
)

// corrWindow holds the matching events of one correlation key within the
// rule's window, with the distinct hosts and organizations among them.
// Dropping from the front only advances head; the slice is compacted once
// half of it is dead, so a full window costs O(1) per event, not a copy of
// every entry.
type corrWindow struct {
	evs   []event.Event // live events are evs[head:]
	head  int
	hosts map[string]int
	orgs  map[string]int
}

func (w *corrWindow) live() []event.Event { return w.evs[w.head:] }

func (w *corrWindow) add(ev *event.Event) {
	if len(w.live()) >= maxCorrelationEntries {
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
	live := w.live()
	n := 0
	for n < len(live) && live[n].Time.Before(cut) {
		n++
	}
	w.drop(n)
}

func (w *corrWindow) drop(n int) {
	for i := range w.live()[:n] {
		ev := &w.evs[w.head+i]
		if w.hosts[ev.Host]--; w.hosts[ev.Host] <= 0 {
			delete(w.hosts, ev.Host)
		}
		if ev.Organization != "" {
			if w.orgs[ev.Organization]--; w.orgs[ev.Organization] <= 0 {
				delete(w.orgs, ev.Organization)
			}
		}
		*ev = event.Event{} // let the dropped event's strings go
	}
	w.head += n
	if w.head > len(w.evs)/2 {
		k := copy(w.evs, w.evs[w.head:])
		clear(w.evs[k:])
		w.evs, w.head = w.evs[:k], 0
	}
}

func (w *corrWindow) fires(c *Correlation) bool {
	return len(w.live()) >= c.Count && len(w.hosts) >= c.MinHosts && len(w.orgs) >= c.MinOrganizations
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
	evs := w.live()
	first, top := evs[0].Time, event.LevelUnknown
	for i := range evs {
		if evs[i].Time.Before(first) {
			first = evs[i].Time
		}
		top = max(top, evs[i].Level)
	}
	st := e.raise(r, key, first, r.eventSeverity(top))
	if st.reopened {
		st.a.RepeatCount += len(evs) - 1 // raise counted one
	} else {
		st.a.RepeatCount = len(evs)
	}
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
	last := evs[len(evs)-1]
	if last.Time.After(st.a.LastSeen) {
		st.a.LastSeen = last.Time
	}
	st.message = last.Message
	for i := range evs {
		st.evs.Add(&evs[i])
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
		if len(w.live()) == 0 {
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
