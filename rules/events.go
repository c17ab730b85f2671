package rules

import (
	"context"
	"strings"

	"crmwatch/alerts"
	"crmwatch/event"
)

// ProcessEvents evaluates events against the event, correlation and
// expected-event rules and sends the resulting changes (coalesced per
// alert) in one Sender call.
func (e *Engine) ProcessEvents(ctx context.Context, evs []event.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := e.set
	var run rolelessRun
	for i := range evs {
		ev := &evs[i]
		e.advance(ev.Time)
		if ev.Role == "" {
			e.noteRoleless(&run, ev.Host)
		}
		if set.nEntries == 0 {
			continue
		}
		e.seq++
		e.lowBuf, e.cands = set.events.candidates(ev, e.lowBuf, e.cands[:0])
		if len(set.hosts) > 0 {
			e.hostBuf = asciiLower(e.hostBuf[:0], ev.Host)
			if hr := set.hosts[string(e.hostBuf)]; hr != nil {
				e.lowBuf, e.cands = hr.events.candidates(ev, e.lowBuf, e.cands)
			}
		}
		for _, b := range e.cands {
			for _, en := range b.entries {
				if set.seen[en.idx] == e.seq {
					continue
				}
				set.seen[en.idx] = e.seq
				e.evalEvent(en.r, ev)
			}
		}
	}
	clear(e.cands)
	e.met.events.Add(float64(len(evs)))
	if e.roleless.n > 0 {
		e.met.unknownRole.Add(float64(e.roleless.n))
		e.roleless.n = 0
	}
	return e.flush(ctx)
}

func (e *Engine) evalEvent(r *compiledRule, ev *event.Event) {
	if !r.match.matchHead(ev) || !e.applies(r, ev.Host, ev.Role) {
		return
	}
	caps, ok := r.match.matchMessage(ev)
	if !ok {
		return
	}
	e.met.match(r.kind)
	switch r.kind {
	case KindEvent:
		e.onEvent(r, ev, caps)
	case KindCorrelation:
		e.onCorrelation(r, ev, caps)
	case KindMissing:
		e.onExpectedEvent(r, ev, caps)
	}
}

// severityOfLevel maps an event level to an alert severity for rules that
// set none: Error → error, Warning → warning, Critical → critical, anything
// else → info (crm-domain §5.3).
func severityOfLevel(l event.Level) alerts.Severity {
	switch l {
	case event.LevelCritical:
		return alerts.SeverityCritical
	case event.LevelError:
		return alerts.SeverityError
	case event.LevelWarning:
		return alerts.SeverityWarning
	}
	return alerts.SeverityInfo
}

func (r *compiledRule) eventSeverity(l event.Level) alerts.Severity {
	if r.severity != "" {
		return r.severity
	}
	return severityOfLevel(l)
}

// onEvent consolidates a matching event into the open alert of its key, or
// raises one. An event arriving resolve_after or more after the alert's
// last occurrence resolves it (at LastSeen+resolve_after) and raises anew,
// so virtual time and real time give the same alerts.
func (e *Engine) onEvent(r *compiledRule, ev *event.Event, caps []string) {
	key := e.eventKey(r, ev, caps)
	st := e.lookupBytes(r.id, key)
	if st != nil && !ev.Time.Before(st.a.LastSeen.Add(r.resolveAfter)) {
		e.resolve(st, st.a.LastSeen.Add(r.resolveAfter))
		st = nil
	}
	sev := r.eventSeverity(ev.Level)
	if st == nil {
		st = e.raise(r, string(key), ev.Time, sev)
		st.host, st.org = ev.Host, ev.Organization
	} else {
		e.repeat(st, ev.Time)
		if sev.Rank() > st.a.Severity.Rank() {
			e.setSeverity(st, sev)
		}
	}
	st.noteEvent(r, ev, caps)
}

// noteEvent records what the alert shows of ev: hosts, organizations, the
// latest message and pattern fields, and ev as a causing event.
func (st *alertState) noteEvent(r *compiledRule, ev *event.Event, caps []string) {
	st.a.Hosts = addListed(st.a.Hosts, ev.Host)
	st.a.Organizations = addListed(st.a.Organizations, ev.Organization)
	st.message = ev.Message
	if r.match != nil && len(caps) > 0 {
		if st.a.Fields == nil {
			st.a.Fields = make(map[string]string, len(caps))
		}
		for i, g := range r.match.groups {
			if i < len(caps) && st.a.Fields[g] != caps[i] {
				st.a.Fields[g] = strings.Clone(caps[i])
			}
		}
	}
	st.evs.Add(ev)
}
