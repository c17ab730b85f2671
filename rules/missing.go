package rules

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"crmwatch/event"
)

// missingSpec is a compiled Missing.
type missingSpec struct {
	agent, counter bool
	after          time.Duration
}

func (c *compiledRule) compileMissing(m *Missing) error {
	var errs []error
	c.miss = &missingSpec{agent: m.Agent, counter: m.Counter != "", after: m.After.D()}
	n := 0
	if m.Agent {
		n++
	}
	if m.Counter != "" {
		n++
		cp, err := compileCounter(m.Counter)
		if err != nil {
			errs = append(errs, err)
		}
		c.counter = cp
	}
	if m.Event != nil {
		n++
		mm, err := compileEventMatch(m.Event)
		if err != nil {
			errs = append(errs, prefix("event", err))
		}
		c.match = mm
	}
	if n != 1 {
		errs = append(errs, errors.New("set exactly one of agent, counter or event"))
	}
	if c.miss.after <= 0 {
		errs = append(errs, errors.New("after: must be a positive duration (e.g. 5m)"))
	}
	return errors.Join(errs...)
}

// sighting is when an expected event (per group key) was last seen.
type sighting struct {
	host string
	last time.Time
}

// onExpectedEvent notes an expected event and resolves its missing alert.
func (e *Engine) onExpectedEvent(r *compiledRule, ev *event.Event, caps []string) {
	key := e.eventKey(r, ev, caps)
	rs := e.stateOf(r)
	s := rs.seen[string(key)]
	if s == nil {
		s = &sighting{host: strings.Clone(ev.Host)}
		rs.seen[string(key)] = s
	}
	if ev.Time.After(s.last) {
		s.last = ev.Time
	}
	if st := e.lookupBytes(r.id, key); st != nil {
		e.resolve(st, ev.Time)
	}
}

// onCounterSeen notes a sample of a watched counter and resolves the
// series' missing alert.
func (e *Engine) onCounterSeen(r *compiledRule, s *event.Sample, cp *event.CounterPath) {
	se, ok := e.observe(r, s, cp)
	if ok && len(e.open[r.id]) > 0 {
		e.setMember(r, se.alertKey, se.key, "", s.Time, false)
	}
}

// Heartbeat records that the agent on host is alive with these CRM roles:
// it resolves the host's missing-agent alerts and teaches role filtering
// which roles the host has.
func (e *Engine) Heartbeat(ctx context.Context, host string, roles []string, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(at)
	e.met.heartbeats.Inc()
	h := e.hosts[host]
	if h == nil {
		h = &hostInfo{}
		e.hosts[strings.Clone(host)] = h
	}
	if !slices.Equal(h.roles, roles) {
		h.roles = slices.Clone(roles)
	}
	if at.After(h.last) {
		h.last = at
	}
	for _, r := range e.set.missing {
		if !e.applies(r, host, "") {
			continue
		}
		switch {
		case r.miss.agent:
			if len(e.open[r.id]) > 0 {
				e.setMember(r, agentKey(r, host, h.roles), seriesKey{host: host}, "", at, false)
			}
		case r.match != nil && slices.Equal(r.groupBy, []string{"host"}):
			// Start the clock for hosts that never sent the expected event.
			rs := e.stateOf(r)
			if k := "host=" + host; rs.seen[k] == nil {
				rs.seen[k] = &sighting{host: strings.Clone(host), last: at}
			}
		}
	}
	return e.flush(ctx)
}

func agentKey(r *compiledRule, host string, roles []string) string {
	return counterGroupKey(r, seriesKey{host: host}, strings.Join(roles, ","), "")
}

// agentSilent reports whether host is known from heartbeats and silent for
// at least d: its counters and events are then missing because the agent
// is, and only the agent alert is raised.
func (e *Engine) agentSilent(host string, now time.Time, d time.Duration) bool {
	h := e.hosts[host]
	return h != nil && !now.Before(h.last.Add(d))
}

// tickMissing raises availability alerts for what has been silent for
// after, dated at the moment it became missing (last + after), so two
// servers ticking at different moments raise the same alert id.
func (e *Engine) tickMissing(r *compiledRule, now time.Time) {
	after := r.miss.after
	switch {
	case r.miss.agent:
		for _, host := range sortedMapKeys(e.hosts) {
			h := e.hosts[host]
			if at := h.last.Add(after); !now.Before(at) && e.applies(r, host, "") {
				e.markMissing(r, agentKey(r, host, h.roles), seriesKey{host: host}, at)
			}
		}
	case r.miss.counter:
		rs := e.stateOf(r)
		for _, sk := range sortedSeriesKeys(rs.series) {
			se := rs.series[sk]
			if at := se.last.Add(after); !now.Before(at) && !e.agentSilent(sk.host, now, after) {
				e.markMissing(r, se.alertKey, sk, at)
			}
		}
	default:
		rs := e.stateOf(r)
		for _, key := range sortedMapKeys(rs.seen) {
			s := rs.seen[key]
			if at := s.last.Add(after); !now.Before(at) && !e.agentSilent(s.host, now, after) {
				if st := e.markMissing(r, key, seriesKey{host: s.host}, at); st != nil && st.host == "" {
					st.host = s.host
					st.a.Hosts = addListed(st.a.Hosts, s.host)
				}
			}
		}
	}
}

func (e *Engine) markMissing(r *compiledRule, key string, sk seriesKey, at time.Time) *alertState {
	st := e.lookup(r.id, key)
	if st != nil {
		if _, member := st.members[sk]; member {
			return st
		}
	}
	st = e.setMember(r, key, sk, r.severity, at, st != nil)
	if st.host == "" {
		st.host = sk.host
		st.instance = sk.instance
		st.a.Hosts = addListed(st.a.Hosts, sk.host)
	}
	return st
}
