package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"crmwatch/event"
)

// strMatcher matches case-insensitively against exact values and prefixes
// without allocating: "X.*" matches X and X.anything, "X*" any string
// starting with X, "*" anything.
type strMatcher struct {
	exact  []string
	dotted []string // "X.*" stored as "X"
	prefix []string // "X*" stored as "X"
}

func newStrMatcher(field string, pats []string) (strMatcher, error) {
	var m strMatcher
	var errs []error
	for _, p := range pats {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			errs = append(errs, fmt.Errorf("%s: empty entry", field))
		case strings.HasSuffix(p, ".*") && len(p) > 2:
			m.dotted = append(m.dotted, p[:len(p)-2])
		case strings.HasSuffix(p, "*"):
			m.prefix = append(m.prefix, p[:len(p)-1])
		default:
			m.exact = append(m.exact, p)
		}
	}
	return m, errors.Join(errs...)
}

func (m *strMatcher) empty() bool {
	return len(m.exact) == 0 && len(m.dotted) == 0 && len(m.prefix) == 0
}

// indexable reports whether every pattern is exact or dotted, so an index
// keyed by the value and its dotted prefixes finds every match.
func (m *strMatcher) indexable() bool { return len(m.prefix) == 0 && !m.empty() }

func (m *strMatcher) match(s string) bool {
	for _, x := range m.exact {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	for _, x := range m.dotted {
		if len(s) == len(x) && strings.EqualFold(s, x) {
			return true
		}
		if len(s) > len(x) && s[len(x)] == '.' && strings.EqualFold(s[:len(x)], x) {
			return true
		}
	}
	for _, x := range m.prefix {
		if len(s) >= len(x) && strings.EqualFold(s[:len(x)], x) {
			return true
		}
	}
	return false
}

// levelMask is a set of event levels, one bit per level.
type levelMask uint8

const allLevels levelMask = 0xff

func (m levelMask) has(l event.Level) bool { return m&(1<<(l&7)) != 0 }

func levelMaskOf(levels []string, min string) (levelMask, error) {
	var errs []error
	mask := allLevels
	if len(levels) > 0 {
		mask = 0
		for _, s := range levels {
			if strings.TrimSpace(s) == "" {
				errs = append(errs, errors.New("levels: empty entry"))
				continue
			}
			l, err := event.ParseLevel(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("levels: %w", err))
				continue
			}
			mask |= 1 << l
		}
	}
	if strings.TrimSpace(min) != "" {
		l, err := event.ParseLevel(min)
		if err != nil {
			errs = append(errs, fmt.Errorf("min_level: %w", err))
		} else {
			var above levelMask
			for x := l; x <= event.LevelCritical; x++ {
				above |= 1 << x
			}
			mask &= above
		}
	}
	if mask == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("levels and min_level exclude every level"))
	}
	return mask, errors.Join(errs...)
}

type fieldMatch struct{ key, value string }

// eventMatcher is a compiled EventMatch. Checks run cheapest first; the
// regular expression runs last and only on events that passed the rest.
type eventMatcher struct {
	levels     levelMask
	sources    strMatcher
	ids        []uint32
	categories strMatcher
	orgs       strMatcher
	processes  strMatcher
	fields     []fieldMatch
	re         *regexp.Regexp
	groups     []string // named groups of re, in order
}

func compileEventMatch(m *EventMatch) (*eventMatcher, error) {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	c := &eventMatcher{ids: m.EventIDs}
	var err error
	c.levels, err = levelMaskOf(m.Levels, m.MinLevel)
	add(err)
	c.sources, err = newStrMatcher("sources", m.Sources)
	add(err)
	c.categories, err = newStrMatcher("categories", m.Categories)
	add(err)
	c.orgs, err = newStrMatcher("organizations", m.Organizations)
	add(err)
	c.processes, err = newStrMatcher("processes", m.Processes)
	add(err)
	for k, v := range m.Fields {
		if strings.TrimSpace(k) == "" {
			add(errors.New("fields: empty key"))
			continue
		}
		c.fields = append(c.fields, fieldMatch{k, v})
	}
	if len(m.Message) > MaxPattern {
		add(fmt.Errorf("message: pattern is %d bytes; patterns are limited to %d", len(m.Message), MaxPattern))
	} else if m.Message != "" {
		re, err := regexp.Compile(m.Message)
		if err != nil {
			add(fmt.Errorf("message: %w", err))
		} else {
			c.re = re
			for _, n := range re.SubexpNames() {
				if n != "" {
					c.groups = append(c.groups, n)
				}
			}
		}
	}
	if len(errs) == 0 && c.matchesEverything() {
		add(errors.New("no criteria: set sources, event_ids, levels, categories, message or another field"))
	}
	return c, errors.Join(errs...)
}

func (c *eventMatcher) matchesEverything() bool {
	return c.levels == allLevels && c.sources.empty() && len(c.ids) == 0 &&
		c.categories.empty() && c.orgs.empty() && c.processes.empty() &&
		len(c.fields) == 0 && c.re == nil
}

// matchHead reports whether ev matches everything but the message pattern.
func (c *eventMatcher) matchHead(ev *event.Event) bool {
	if !c.levels.has(ev.Level) {
		return false
	}
	if len(c.ids) > 0 {
		ok := false
		for _, id := range c.ids {
			if id == ev.EventID {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if !c.sources.empty() && !c.sources.match(ev.Source) {
		return false
	}
	if !c.categories.empty() && !c.categories.match(ev.Category) {
		return false
	}
	if !c.orgs.empty() && !c.orgs.match(ev.Organization) {
		return false
	}
	if !c.processes.empty() && !c.processes.match(ev.Process) {
		return false
	}
	for _, f := range c.fields {
		v, ok := ev.Fields[f.key]
		if !ok || !strings.EqualFold(v, f.value) {
			return false
		}
	}
	return true
}

// match reports whether ev matches; caps holds the named groups' values in
// the order of c.groups (nil when the pattern has none).
func (c *eventMatcher) match(ev *event.Event) (caps []string, ok bool) {
	if !c.matchHead(ev) {
		return nil, false
	}
	return c.matchMessage(ev)
}

// matchMessage applies the message pattern only.
func (c *eventMatcher) matchMessage(ev *event.Event) (caps []string, ok bool) {
	if c.re == nil {
		return nil, true
	}
	if len(c.groups) == 0 {
		return nil, c.re.MatchString(ev.Message)
	}
	sm := c.re.FindStringSubmatch(ev.Message)
	if sm == nil {
		return nil, false
	}
	caps = make([]string, 0, len(c.groups))
	for i, n := range c.re.SubexpNames() {
		if n != "" {
			caps = append(caps, sm[i])
		}
	}
	return caps, true
}

// asciiLower appends the ASCII lower case of s to dst. Index keys and
// lookups both use it, so ASCII case differences never miss; names that
// differ only in non-ASCII case are not folded by the index.
func asciiLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

func lowerString(s string) string { return string(asciiLower(nil, s)) }
