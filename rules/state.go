package rules

import (
	"strconv"
	"strings"
	"time"

	"crmwatch/event"
)

// ruleState is the mutable evaluation state of one rule: counter series,
// correlation windows and expected-event sightings. Load carries it over
// when the rule is unchanged.
type ruleState struct {
	series map[seriesKey]*series
	corr   map[string]*corrWindow
	seen   map[string]*sighting
}

func newRuleState() *ruleState {
	return &ruleState{series: map[seriesKey]*series{}, corr: map[string]*corrWindow{}, seen: map[string]*sighting{}}
}

// seriesKey names one counter series of a rule: a host and an instance.
type seriesKey struct{ host, instance string }

// series is the state of one counter series.
type series struct {
	key      seriesKey
	alertKey string // the rule's group key for this series
	counter  string
	last     time.Time
	n        int // samples seen

	pts    []point // threshold window
	consec int     // threshold: consecutive evaluations over a level

	prev     float64 // trend: previous value
	rises    int     // trend: consecutive rises
	flat     int     // trend: consecutive samples without a rise
	interval time.Duration
}

// observe finds or creates the series of s for r and drops out-of-order or
// duplicate samples (counted as evaluation errors).
func (e *Engine) observe(r *compiledRule, s *event.Sample, cp *event.CounterPath) (*series, bool) {
	rs := e.stateOf(r)
	sk := seriesKey{s.Host, cp.Instance}
	if r.kind == KindMissing && r.counter.Instance == "*" {
		sk.instance = "" // any instance keeps the host's counter alive
	}
	se := rs.series[sk]
	if se == nil {
		sk = seriesKey{strings.Clone(sk.host), strings.Clone(sk.instance)}
		se = &series{key: sk, counter: strings.Clone(s.Counter)}
		se.alertKey = counterGroupKey(r, sk, s.Role, se.counter)
		rs.series[sk] = se
	}
	if se.n > 0 && !s.Time.After(se.last) {
		e.met.evalError("out_of_order")
		return se, false
	}
	if se.n > 0 {
		se.interval = s.Time.Sub(se.last)
	}
	se.last = s.Time
	se.n++
	return se, true
}

// counterGroupKey renders group_by (and a variant's key suffix) for a
// counter series.
func counterGroupKey(r *compiledRule, sk seriesKey, role, counter string) string {
	var b strings.Builder
	for i, g := range r.groupBy {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(g)
		b.WriteByte('=')
		switch g {
		case "host":
			b.WriteString(sk.host)
		case "instance":
			b.WriteString(sk.instance)
		case "role":
			b.WriteString(role)
		case "counter":
			b.WriteString(counter)
		}
	}
	b.WriteString(r.keySuffix)
	return b.String()
}

// eventKey renders group_by for an event into e.keyBuf without allocating.
func (e *Engine) eventKey(r *compiledRule, ev *event.Event, caps []string) []byte {
	b := e.keyBuf[:0]
	for i, g := range r.groupBy {
		if i > 0 {
			b = append(b, '|')
		}
		b = append(b, g...)
		b = append(b, '=')
		switch g {
		case "host":
			b = append(b, ev.Host...)
		case "role":
			b = append(b, ev.Role...)
		case "organization":
			b = append(b, ev.Organization...)
		case "source":
			b = append(b, ev.Source...)
		case "event_id":
			b = strconv.AppendUint(b, uint64(ev.EventID), 10)
		case "category":
			b = append(b, ev.Category...)
		case "process":
			b = append(b, ev.Process...)
		default:
			b = append(b, captured(r, g, ev, caps)...)
		}
	}
	b = append(b, r.keySuffix...)
	e.keyBuf = b
	return b
}

// captured is a named group of the message pattern, else an event field.
func captured(r *compiledRule, name string, ev *event.Event, caps []string) string {
	if r.match != nil {
		for i, g := range r.match.groups {
			if g == name && i < len(caps) {
				return caps[i]
			}
		}
	}
	return ev.Fields[name]
}

// roleOK applies a rule's roles: the observation's own role (one name or a
// comma-separated list) or the roles its host announced in heartbeats.
func (e *Engine) roleOK(r *compiledRule, host, role string) bool {
	if len(r.roles) == 0 {
		return true
	}
	if role != "" && rolesMatch(r.roles, role) {
		return true
	}
	if h := e.hosts[host]; h != nil {
		for _, hr := range h.roles {
			if rolesMatch(r.roles, hr) {
				return true
			}
		}
	}
	return false
}

func rolesMatch(want []string, role string) bool {
	for role != "" {
		name, rest, _ := strings.Cut(role, ",")
		name = strings.TrimSpace(name)
		for _, w := range want {
			if strings.EqualFold(w, name) {
				return true
			}
		}
		role = rest
	}
	return false
}
