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
	inCall                                          bool
	raised, reopened, escalated, repeated, resolved bool
	regrouped                                       bool // ParentID changed
	// endedAt is when the alert resolved in this call; reResolved marks a
	// resolve followed by a reopen in the same call (both are reported).
	endedAt    time.Time
	reResolved bool
	endSnap    alerts.Alert // the alert as it resolved, when reResolved
	prevParent string
	listed     int // hosts+organizations when children were last adopted
	evs        alerts.EventList
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

// raise opens an alert for key: the recently resolved one of the same rule
// and key when its condition returns within the rule's reopen_within (its
// id, counts and history go on), else a new one.
func (e *Engine) raise(r *compiledRule, key string, at time.Time, sev alerts.Severity) *alertState {
	st := e.reopen(r, key, at, sev)
	if st == nil {
		st = &alertState{rule: r, rid: r.id, evs: alerts.NewEventList(alerts.ChangeEvents), a: alerts.Alert{
			ID: alertID(r.id, key, at), Rule: r.alertRule, Key: key, Severity: sev, State: alerts.StateNew,
			RepeatCount: 1, FirstSeen: at, LastSeen: at, Knowledge: r.spec.Knowledge,
		}}
		if r.spec.Variant != "" {
			st.a.Fields = map[string]string{VariantField: r.spec.Variant}
		}
		st.raised = true
		e.met.raised(r.kind)
	}
	m := e.open[r.id]
	if m == nil {
		m = map[string]*alertState{}
		e.open[r.id] = m
	}
	m[key] = st
	e.nOpen++
	e.touch(st)
	return st
}

// reopen takes the recently resolved alert of r and key back when the
// condition returned within r's reopen window, or returns nil.
func (e *Engine) reopen(r *compiledRule, key string, at time.Time, sev alerts.Severity) *alertState {
	st := e.recent[r.id][key]
	if st == nil {
		return nil
	}
	e.forgetRecent(st)
	if r.reopenWithin <= 0 || st.a.ResolvedAt == nil || at.Sub(*st.a.ResolvedAt) > r.reopenWithin {
		return nil
	}
	if st.inCall && st.resolved {
		e.render(st)
		st.resolved, st.reResolved, st.endSnap = false, true, st.snapshot()
	}
	st.rule, st.members = r, nil
	st.a.State, st.a.ResolvedAt, st.a.Severity = alerts.StateNew, nil, sev
	st.a.RepeatCount++
	if at.After(st.a.LastSeen) {
		st.a.LastSeen = at
	}
	st.reopened = true
	e.met.reopenedN.Inc()
	return st
}

// keepRecent remembers a resolved alert for its rule's reopen window.
func (e *Engine) keepRecent(st *alertState) {
	if st.rule == nil || st.rule.reopenWithin <= 0 {
		return
	}
	m := e.recent[st.rid]
	if m == nil {
		m = map[string]*alertState{}
		e.recent[st.rid] = m
	}
	if old := m[st.a.Key]; old == nil {
		e.nRecent++
	}
	m[st.a.Key] = st
}

func (e *Engine) forgetRecent(st *alertState) {
	if m := e.recent[st.rid]; m != nil && m[st.a.Key] == st {
		delete(m, st.a.Key)
		e.nRecent--
		if len(m) == 0 {
			delete(e.recent, st.rid)
		}
	}
}

// pruneRecent drops resolved alerts whose reopen window has passed at now,
// and the oldest ones beyond maxRecent.
func (e *Engine) pruneRecent(now time.Time) {
	for _, rid := range sortedMapKeys(e.recent) {
		for _, st := range e.recent[rid] {
			if st.rule == nil || st.a.ResolvedAt == nil || now.Sub(*st.a.ResolvedAt) > st.rule.reopenWithin {
				e.forgetRecent(st)
			}
		}
	}
	for e.nRecent > maxRecent {
		var oldest *alertState
		for _, m := range e.recent {
			for _, st := range m {
				if oldest == nil || st.a.ResolvedAt.Before(*oldest.a.ResolvedAt) {
					oldest = st
				}
			}
		}
		e.forgetRecent(oldest)
	}
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
	st.resolved, st.endedAt = true, at
	e.touch(st)
	kind := KindEvent
	if st.rule != nil {
		kind = st.rule.kind
	}
	e.met.resolved(kind)
	e.keepRecent(st)
	e.releaseChildren(st)
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

// changes turns the call's work on one alert into changes and resets it:
// raised or reopened, else a severity change, else a repeat; then grouped
// or ungrouped when its parent changed, then resolved when it also ended.
// The call's events go with the first change.
func (e *Engine) changes(st *alertState, out []alerts.Change) []alerts.Change {
	e.render(st)
	by := st.a.Rule
	evs, nEvs := st.evs.List(), st.evs.Count()
	if nEvs == 0 {
		evs = nil
	}
	at := st.a.LastSeen
	if st.at.After(at) {
		at = st.at
	}
	add := func(kind alerts.ChangeKind, when time.Time) {
		out = append(out, alerts.Change{Kind: kind, Alert: st.snapshot(), Events: evs, EventCount: nEvs, At: when, By: by})
		evs, nEvs = nil, 0
	}
	if st.reResolved {
		out = append(out, alerts.Change{Kind: alerts.ChangeResolved, Alert: st.endSnap, At: st.endedAt, By: by})
		st.endSnap = alerts.Alert{}
	}
	switch {
	case st.raised:
		add(alerts.ChangeRaised, st.a.FirstSeen)
	case st.reopened:
		add(alerts.ChangeReopened, at)
	case st.resolved:
	case st.escalated:
		add(alerts.ChangeSeverityChanged, at)
	case st.repeated:
		add(alerts.ChangeRepeated, at)
	}
	if st.regrouped && !st.raised && st.a.ParentID != st.prevParent {
		kind := alerts.ChangeGrouped
		if st.a.ParentID == "" {
			kind = alerts.ChangeUngrouped
		}
		add(kind, at)
	}
	if st.resolved {
		add(alerts.ChangeResolved, st.endedAt)
	}
	st.inCall, st.raised, st.reopened, st.escalated, st.repeated, st.resolved, st.regrouped = false, false, false, false, false, false, false
	st.reResolved = false
	st.evs.Reset()
	st.at = time.Time{}
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
		Counter: st.counter, Instance: st.instance, Value: Reading(st.value), Count: st.a.RepeatCount,
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
