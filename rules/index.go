package rules

import (
	"strings"

	"crmwatch/event"
)

// entry is one rule's place in the event index. idx is unique per rule
// (across the farm-wide and per-host indexes) so an event reaching a rule
// through two buckets is evaluated once.
type entry struct {
	r   *compiledRule
	idx int
}

// bucket holds the rules reached through one index key; levels is the union
// of their level masks so a Verbose trace record skips a bucket of
// error-only rules without looking at any rule.
type bucket struct {
	levels  levelMask
	entries []entry
}

func (b *bucket) add(en entry) {
	b.levels |= en.r.match.levels
	b.entries = append(b.entries, en)
}

// eventIndex finds the rules an event can match. Each rule is filed under
// its most selective indexable criterion: event ids, else categories
// (exact or "X.*"), else sources (exact), else the catch-all bucket. The
// cost of an event therefore does not grow with rules that cannot match it.
type eventIndex struct {
	byID        map[uint32]*bucket
	bySource    map[string]*bucket
	byCategory  map[string]*bucket // exact, ASCII lower case
	byCatPrefix map[string]*bucket // "X.*" filed as lower(X)
	any         bucket
	n           int // entries (rules) indexed
}

func newEventIndex() *eventIndex {
	return &eventIndex{
		byID: map[uint32]*bucket{}, bySource: map[string]*bucket{},
		byCategory: map[string]*bucket{}, byCatPrefix: map[string]*bucket{},
	}
}

func getBucket[K comparable](m map[K]*bucket, k K) *bucket {
	b := m[k]
	if b == nil {
		b = &bucket{}
		m[k] = b
	}
	return b
}

func (x *eventIndex) add(r *compiledRule, idx int) {
	en := entry{r: r, idx: idx}
	x.n++
	m := r.match
	switch {
	case len(m.ids) > 0:
		for _, id := range m.ids {
			getBucket(x.byID, id).add(en)
		}
	case m.categories.indexable():
		for _, c := range m.categories.exact {
			getBucket(x.byCategory, lowerString(c)).add(en)
		}
		for _, c := range m.categories.dotted {
			getBucket(x.byCatPrefix, lowerString(c)).add(en)
		}
	case m.sources.indexable() && len(m.sources.dotted) == 0:
		for _, s := range m.sources.exact {
			getBucket(x.bySource, lowerString(s)).add(en)
		}
	default:
		x.any.add(en)
	}
}

// candidates appends to out every bucket that may hold a rule matching ev
// and whose level mask admits ev's level. buf is scratch space for
// lower-casing without allocating; both are returned for reuse.
func (x *eventIndex) candidates(ev *event.Event, buf []byte, out []*bucket) ([]byte, []*bucket) {
	lv := ev.Level
	if len(x.byID) > 0 {
		if b := x.byID[ev.EventID]; b != nil && b.levels.has(lv) {
			out = append(out, b)
		}
	}
	if len(x.bySource) > 0 {
		buf = asciiLower(buf[:0], ev.Source)
		if b := x.bySource[string(buf)]; b != nil && b.levels.has(lv) {
			out = append(out, b)
		}
	}
	if len(x.byCategory)+len(x.byCatPrefix) > 0 && ev.Category != "" {
		buf = asciiLower(buf[:0], ev.Category)
		if b := x.byCategory[string(buf)]; b != nil && b.levels.has(lv) {
			out = append(out, b)
		}
		if len(x.byCatPrefix) > 0 {
			for i := len(buf); i > 0; i-- {
				if i < len(buf) && buf[i] != '.' {
					continue
				}
				if b := x.byCatPrefix[string(buf[:i])]; b != nil && b.levels.has(lv) {
					out = append(out, b)
				}
			}
		}
	}
	if len(x.any.entries) > 0 && x.any.levels.has(lv) {
		out = append(out, &x.any)
	}
	return buf, out
}

// sampleEntry is one rule's place in the sample index.
type sampleEntry struct {
	r        *compiledRule
	instance string // "" = single-instance object, "*" = every instance
}

func (s sampleEntry) matchInstance(inst string) bool {
	return s.instance == "*" || strings.EqualFold(s.instance, inst)
}

// counterKey is the sample index key: lower(object) + `\` + lower(counter).
func counterKey(buf []byte, cp event.CounterPath) []byte {
	buf = asciiLower(buf[:0], cp.Object)
	buf = append(buf, '\\')
	return asciiLower(buf, cp.Counter)
}
