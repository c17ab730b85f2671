package event

import (
	"fmt"
	"strings"
)

// CounterPath is a parsed Windows performance-counter path
// \Object(Instance)\Counter. Instance is empty for single-instance objects.
// Machine is set only for the \\HOST\Object\Counter form.
type CounterPath struct {
	Machine  string
	Object   string
	Instance string
	Counter  string
}

// ParseCounterPath parses \Object\Counter, \Object(Instance)\Counter and the
// same with a leading \\Machine. Instance names may contain parentheses
// (e.g. "w3wp#1" or "mscrmasyncservice$maintenance"); the instance is the text
// between the first "(" and the last ")" of the object part.
func ParseCounterPath(p string) (CounterPath, error) {
	var cp CounterPath
	s := p
	if strings.HasPrefix(s, `\\`) {
		rest := s[2:]
		i := strings.IndexByte(rest, '\\')
		if i <= 0 {
			return cp, fmt.Errorf("counter path %q: machine name without object", p)
		}
		cp.Machine, s = rest[:i], rest[i:]
	}
	if !strings.HasPrefix(s, `\`) {
		return cp, fmt.Errorf(`counter path %q: must start with \Object`, p)
	}
	s = s[1:]
	// The counter name is after the last backslash that is not inside the
	// instance parentheses.
	depth, cut := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '\\':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut <= 0 || cut == len(s)-1 {
		return cp, fmt.Errorf(`counter path %q: want \Object(instance)\Counter`, p)
	}
	obj := s[:cut]
	cp.Counter = s[cut+1:]
	if open := strings.IndexByte(obj, '('); open >= 0 {
		closeAt := strings.LastIndexByte(obj, ')')
		if closeAt < open {
			return cp, fmt.Errorf("counter path %q: unbalanced instance parentheses", p)
		}
		cp.Instance = obj[open+1 : closeAt]
		obj = obj[:open]
	}
	cp.Object = obj
	if cp.Object == "" {
		return cp, fmt.Errorf("counter path %q: empty object name", p)
	}
	return cp, nil
}

// String formats the path back to \Object(Instance)\Counter.
func (c CounterPath) String() string {
	var b strings.Builder
	if c.Machine != "" {
		b.WriteString(`\\`)
		b.WriteString(c.Machine)
	}
	b.WriteByte('\\')
	b.WriteString(c.Object)
	if c.Instance != "" {
		b.WriteByte('(')
		b.WriteString(c.Instance)
		b.WriteByte(')')
	}
	b.WriteByte('\\')
	b.WriteString(c.Counter)
	return b.String()
}
