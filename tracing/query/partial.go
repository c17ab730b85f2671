package query

import (
	"cmp"
	"encoding/hex"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"crmwatch/tracing"
)

// reqKey identifies a request id in 16 bytes: the GUID itself, or for the
// rare id that is not a GUID a 64-bit hash of it (kept with its text).
type reqKey [16]byte

// reqDetail is what is kept per request (56 bytes with its key).
type reqDetail struct {
	first, last     int64 // unix nanoseconds
	records, errors uint32
}

type errGroup struct {
	ErrorGroup
}

// partial is one worker's statistics; strings that become map keys are
// cloned so they do not pin the reader's text arena.
type partial struct {
	records, bytes, malformed, truncated int64
	levels                               map[string]*int64
	cats, orgs, procs                    map[string]*int64
	first, last                          time.Time

	detail    map[reqKey]*reqDetail
	overflow  map[reqKey]struct{} // requests seen after detail was full
	maxDetail int
	names     map[reqKey]string // text of non-GUID ids
	errs      map[string]*errGroup
	errOther  int64
	rejected  []Rejected
}

var hashSeed = maphash.MakeSeed()

func newPartial(maxDetail int) *partial {
	return &partial{
		levels: map[string]*int64{}, cats: map[string]*int64{}, orgs: map[string]*int64{}, procs: map[string]*int64{},
		detail: map[reqKey]*reqDetail{}, overflow: map[reqKey]struct{}{}, names: map[reqKey]string{},
		errs: map[string]*errGroup{}, maxDetail: maxDetail,
	}
}

// levelKeys are the by_level keys: the four CRM levels in lower case.
func levelKey(level string) string {
	if l := tracing.EventLevel(level); l != 0 {
		return l.String()
	}
	return "other"
}

func inc(m map[string]*int64, k string, n int64) {
	if c, ok := m[k]; ok {
		*c += n
		return
	}
	v := n
	m[strings.Clone(k)] = &v
}

func (p *partial) add(rec *tracing.Record) {
	p.records++
	inc(p.levels, levelKey(rec.Level), 1)
	inc(p.cats, rec.Category, 1)
	inc(p.orgs, rec.Organization, 1)
	inc(p.procs, rec.Process, 1)
	if p.first.IsZero() || rec.Time.Before(p.first) {
		p.first = rec.Time
	}
	if rec.Time.After(p.last) {
		p.last = rec.Time
	}
	isErr := tracing.EventLevel(rec.Level) >= 4 // event.LevelError
	if rec.ReqID != "" {
		p.request(rec, isErr)
	}
	if isErr {
		p.errorGroup(rec)
	}
}

func (p *partial) key(id string) reqKey {
	var k reqKey
	if parseGUID(id, &k) {
		return k
	}
	h := maphash.String(hashSeed, id)
	for i := range 8 {
		k[i] = byte(h >> (8 * i))
	}
	k[15] = 0xFF // GUID bytes never end a 64-bit hash key this way by chance in practice
	k[14] = 0xFE
	if _, ok := p.names[k]; !ok && len(p.names) < maxErrorGroups {
		p.names[k] = strings.Clone(id)
	}
	return k
}

func (p *partial) request(rec *tracing.Record, isErr bool) {
	k := p.key(rec.ReqID)
	t := rec.Time.UnixNano()
	d, ok := p.detail[k]
	if !ok {
		if len(p.detail) >= p.maxDetail {
			p.overflow[k] = struct{}{}
			return
		}
		d = &reqDetail{first: t, last: t}
		p.detail[k] = d
	}
	d.first, d.last = min(d.first, t), max(d.last, t)
	d.records++
	if isErr {
		d.errors++
	}
}

func (p *partial) errorGroup(rec *tracing.Record) {
	text := firstLine(rec.Message)
	if e := rec.ErrorReport; e != nil { // the report's own words, not its title
		text = cmp.Or(e.ErrorMessage, e.Error, text)
	}
	msg := shape(text, 160)
	k := rec.Category + "\x00" + rec.Operation + "\x00" + msg
	g, ok := p.errs[k]
	if !ok {
		if len(p.errs) >= maxErrorGroups {
			p.errOther++
			return
		}
		g = &errGroup{ErrorGroup{Category: strings.Clone(rec.Category), Operation: strings.Clone(rec.Operation),
			Message: msg, First: rec.Time, Last: rec.Time}}
		p.errs[k] = g
	}
	g.Count++
	if rec.Time.Before(g.First) {
		g.First = rec.Time
	}
	if rec.Time.After(g.Last) {
		g.Last = rec.Time
	}
}

// mergeFrom folds q into p.
func (p *partial) mergeFrom(q *partial) {
	p.records += q.records
	p.bytes += q.bytes
	p.malformed += q.malformed
	p.truncated += q.truncated
	p.rejected = append(p.rejected, q.rejected...)
	for _, pair := range [][2]map[string]*int64{{p.levels, q.levels}, {p.cats, q.cats}, {p.orgs, q.orgs}, {p.procs, q.procs}} {
		for k, v := range pair[1] {
			inc(pair[0], k, *v)
		}
	}
	if !q.first.IsZero() && (p.first.IsZero() || q.first.Before(p.first)) {
		p.first = q.first
	}
	if q.last.After(p.last) {
		p.last = q.last
	}
	for k, qd := range q.detail {
		if d, ok := p.detail[k]; ok {
			d.first, d.last = min(d.first, qd.first), max(d.last, qd.last)
			d.records += qd.records
			d.errors += qd.errors
		} else {
			p.detail[k] = qd
		}
	}
	for k := range q.overflow {
		p.overflow[k] = struct{}{}
	}
	for k, v := range q.names {
		p.names[k] = v
	}
	for k, qg := range q.errs {
		if g, ok := p.errs[k]; ok {
			g.Count += qg.Count
			if qg.First.Before(g.First) {
				g.First = qg.First
			}
			if qg.Last.After(g.Last) {
				g.Last = qg.Last
			}
		} else {
			p.errs[k] = qg
		}
	}
	p.errOther += q.errOther
}

// result turns the merged partial into Stats.
func (p *partial) result(top int) *Stats {
	st := &Stats{
		Bytes: p.bytes, Records: p.records, Malformed: p.malformed, Truncated: p.truncated,
		ByLevel:    map[string]int64{"error": 0, "warning": 0, "info": 0, "verbose": 0},
		ByCategory: flat(p.cats), ByOrganization: flat(p.orgs), ByProcess: flat(p.procs),
		First: p.first, Last: p.last,
		SlowestRequests: []RequestSpan{}, TopErrors: []ErrorGroup{},
		Rejected: slices.SortedFunc(slices.Values(p.rejected), func(a, b Rejected) int { return strings.Compare(a.File, b.File) }),
	}
	for k, v := range p.levels {
		st.ByLevel[k] = *v
	}
	var noDetail int64
	for k := range p.overflow {
		if _, ok := p.detail[k]; !ok {
			noDetail++
		}
	}
	st.Requests = int64(len(p.detail)) + noDetail
	st.RequestsWithoutDetail = noDetail
	spans := make([]RequestSpan, 0, len(p.detail))
	for k, d := range p.detail {
		spans = append(spans, RequestSpan{ReqID: p.name(k), First: time.Unix(0, d.first).In(p.first.Location()),
			Last: time.Unix(0, d.last).In(p.first.Location()), DurationMS: float64(d.last-d.first) / 1e6,
			Records: int64(d.records), Errors: int64(d.errors)})
	}
	st.SlowestRequests = sortedTop(spans, top, func(a, b RequestSpan) int {
		return cmp.Or(cmp.Compare(b.DurationMS, a.DurationMS), cmp.Compare(a.ReqID, b.ReqID))
	})
	groups := make([]ErrorGroup, 0, len(p.errs))
	for _, g := range p.errs {
		groups = append(groups, g.ErrorGroup)
	}
	st.TopErrors = sortedTop(groups, top, func(a, b ErrorGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Category, b.Category),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Message, b.Message))
	})
	return st
}

func (p *partial) name(k reqKey) string {
	if n, ok := p.names[k]; ok {
		return n
	}
	if k[14] == 0xFE && k[15] == 0xFF {
		return "#" + hex.EncodeToString(k[:8]) // non-GUID id whose text was not kept
	}
	return formatGUID(k)
}

func flat(m map[string]*int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = *v
	}
	return out
}
