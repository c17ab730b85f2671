package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// alertState is one open alert and what the current Process/Tick call did
// to it. Changes are coalesced per alert and turned into alerts.Change
// values once, at the end of the call (flush).
type alertState struct {
	a    alerts.Alert
	rid  string // internal id of the rule (variant) holding it in Engine.open
	rule *compiledRule
	// members are the series (host, instance) currently in violation for
	// threshold, trend and missing rules; the alert's severity is their
	// highest and it resolves when none is left.
	members map[seriesKey]alerts.Severity

	host, org, message string
	counter, instance  string
	value              float64
	hasValue           bool

	// Work of the current call.
	inCall                                bool
	raised, escalated, repeated, resolved bool
	evs                                   []event.Event
	nEvs                                  int
	// at is when an observation that was not a repeat (a severity change
	// while the value improves) last touched the alert.
	at time.Time
}

func (st *alertState) noteTime(t time.Time) {
	if t.After(st.at) {
		st.at = t
	}
}

// alertID is deterministic: two servers processing the same stream give the
// same alert the same id.
func alertID(rule, key string, first time.Time) string {
	h := sha256.New()
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(first.UnixNano()))
	h.Write(ts[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (e *Engine) lookup(id, key string) *alertState { return e.open[id][key] }

// lookupBytes finds an open alert without allocating the key string.
func (e *Engine) lookupBytes(id string, key []byte) *alertState { return e.open[id][string(key)] }

func (e *Engine) touch(st *alertState) {
	if !st.inCall {
		st.inCall = true
		e.touched = append(e.touched, st)
	}
}

func (e *Engine) raise(r *compiledRule, key string, at time.Time, sev alerts.Severity) *alertState {
	st := &alertState{rule: r, rid: r.id, a: alerts.Alert{
		ID: alertID(r.id, key, at), Rule: r.alertRule, Key: key, Severity: sev, State: alerts.StateNew,
		RepeatCount: 1, FirstSeen: at, LastSeen: at, Knowledge: r.spec.Knowledge,
	}}
	if r.spec.Variant != "" {
		st.a.Fields = map[string]string{VariantField: r.spec.Variant}
	}
	m := e.open[r.id]
	if m == nil {
		m = map[string]*alertState{}
		e.open[r.id] = m
	}
	m[key] = st
	e.nOpen++
	st.raised = true
	e.touch(st)
	e.met.raised(r.kind)
	return st
}

func (e *Engine) repeat(st *alertState, at time.Time) {
	st.a.RepeatCount++
	if at.After(st.a.LastSeen) {
		st.a.LastSeen = at
	}
	st.repeated = true
	e.touch(st)
}

func (e *Engine) setSeverity(st *alertState, sev alerts.Severity) {
	if sev != st.a.Severity && sev != "" {
		st.a.Severity = sev
		st.escalated = true
		e.touch(st)
	}
}

func (e *Engine) resolve(st *alertState, at time.Time) {
	if m := e.open[st.rid]; m != nil && m[st.a.Key] == st {
		delete(m, st.a.Key)
		e.nOpen--
		if len(m) == 0 {
			delete(e.open, st.rid)
		}
	}
	if at.Before(st.a.LastSeen) {
		at = st.a.LastSeen
	}
	st.a.State = alerts.StateResolved
	st.a.ResolvedAt = &at
	st.resolved = true
	e.touch(st)
	kind := KindEvent
	if st.rule != nil {
		kind = st.rule.kind
	}
	e.met.resolved(kind)
}

// setMember records the severity of one series ("" = clear) under the
// alert for key, raising, escalating or resolving it as needed; bump counts
// the observation as a repeat of an open alert.
func (e *Engine) setMember(r *compiledRule, key string, sk seriesKey, sev alerts.Severity, at time.Time, bump bool) *alertState {
	st := e.lookup(r.id, key)
	if st == nil {
		if sev == "" {
			return nil
		}
		st = e.raise(r, key, at, sev)
	} else if sev == "" {
		delete(st.members, sk)
		if len(st.members) == 0 {
			e.resolve(st, at)
		}
		return nil
	} else if bump {
		e.repeat(st, at)
	} else {
		st.noteTime(at)
		e.touch(st)
	}
	if st.members == nil {
		st.members = map[seriesKey]alerts.Severity{}
	}
	st.members[sk] = sev
	top := sev
	for _, s := range st.members {
		if s.Rank() > top.Rank() {
			top = s
		}
	}
	e.setSeverity(st, top)
	return st
}

// holds reports whether the open alert st counts series sk among its
// causes (a restored alert, whose members are unknown, holds every series).
func (st *alertState) holds(sk seriesKey) bool {
	if st == nil {
		return false
	}
	_, ok := st.members[sk]
	return ok || len(st.members) == 0
}

func addListed(list []string, s string) []string {
	if s == "" || len(list) >= MaxListed {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// addEvent keeps the first event of the call and the latest ones.
func (st *alertState) addEvent(ev *event.Event) {
	if len(st.evs) < MaxChangeEvents {
		st.evs = append(st.evs, *ev)
	} else {
		r := MaxChangeEvents - 1
		st.evs[1+(st.nEvs-1)%r] = *ev
	}
	st.nEvs++
}

func (st *alertState) callEvents() []event.Event {
	if st.nEvs == 0 {
		return nil
	}
	if st.nEvs <= MaxChangeEvents {
		return slices.Clone(st.evs)
	}
	r := MaxChangeEvents - 1
	out := make([]event.Event, 0, MaxChangeEvents)
	out = append(out, st.evs[0])
	for j := st.nEvs - r; j < st.nEvs; j++ {
		out = append(out, st.evs[1+(j-1)%r])
	}
	return out
}

// snapshot copies the alert so the receiver may keep it.
func (st *alertState) snapshot() alerts.Alert {
	a := st.a
	a.Hosts = slices.Clone(st.a.Hosts)
	a.Organizations = slices.Clone(st.a.Organizations)
	a.Fields = maps.Clone(st.a.Fields)
	if a.Hosts == nil {
		a.Hosts = []string{}
	}
	if a.Organizations == nil {
		a.Organizations = []string{}
	}
	if st.a.ResolvedAt != nil {
		t := *st.a.ResolvedAt
		a.ResolvedAt = &t
	}
	return a
}

// changes turns the call's work on one alert into changes and resets it.
func (e *Engine) changes(st *alertState, out []alerts.Change) []alerts.Change {
	e.render(st)
	by := st.a.Rule
	evs := st.callEvents()
	at := st.a.LastSeen
	if st.at.After(at) {
		at = st.at
	}
	switch {
	case st.raised:
		out = append(out, alerts.Change{Kind: alerts.ChangeRaised, Alert: st.snapshot(), Events: evs, At: st.a.FirstSeen, By: by})
		evs = nil
	case st.resolved:
	case st.escalated:
		out = append(out, alerts.Change{Kind: alerts.ChangeEscalated, Alert: st.snapshot(), Events: evs, At: at, By: by})
	case st.repeated:
		out = append(out, alerts.Change{Kind: alerts.ChangeRepeated, Alert: st.snapshot(), Events: evs, At: at, By: by})
	}
	if st.resolved {
		out = append(out, alerts.Change{Kind: alerts.ChangeResolved, Alert: st.snapshot(), Events: evs, At: *st.a.ResolvedAt, By: by})
	}
	st.inCall, st.raised, st.escalated, st.repeated, st.resolved = false, false, false, false, false
	st.evs, st.nEvs, st.at = st.evs[:0], 0, time.Time{}
	return out
}

// render refreshes the summary and the value field from the alert state.
func (e *Engine) render(st *alertState) {
	if st.hasValue {
		if st.a.Fields == nil {
			st.a.Fields = map[string]string{}
		}
		st.a.Fields["value"] = strconv.FormatFloat(st.value, 'g', -1, 64)
	}
	if st.rule == nil || st.rule.summary == nil {
		if st.a.Summary == "" {
			st.a.Summary = st.a.Rule + " " + st.a.Key
		}
		return
	}
	d := SummaryData{
		Host: st.host, Organization: st.org, Hosts: st.a.Hosts, Organizations: st.a.Organizations,
		Counter: st.counter, Instance: st.instance, Value: st.value, Count: st.a.RepeatCount,
		Message: headline(st.message), Fields: st.a.Fields,
	}
	e.buf.Reset()
	err := st.rule.summary.Execute(&limitWriter{w: &e.buf, left: MaxSummary}, &d)
	if errors.Is(err, errSummaryTooLong) {
		err = nil // keep the first MaxSummary bytes
	}
	if err != nil {
		e.met.evalError("template")
		// Counted, not logged at warn: it would repeat on every call.
		e.log.Debug("summary template failed; keeping the previous summary", "rule", st.a.Rule, "err", err)
		if st.a.Summary == "" {
			st.a.Summary = st.a.Rule + " " + st.a.Key
		}
		return
	}
	if bytes.ContainsAny(e.buf.Bytes(), "\r\n") {
		oneLine(&e.buf)
	}
	if string(e.buf.Bytes()) != st.a.Summary {
		st.a.Summary = e.buf.String()
	}
}
