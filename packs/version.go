package packs

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version MAJOR.MINOR.PATCH[-pre][+build].
type Version struct {
	Major, Minor, Patch int
	Pre, Build          string
}

// ParseVersion parses a semantic version (no leading "v").
func ParseVersion(s string) (Version, error) {
	var v Version
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		v.Build, rest = rest[i+1:], rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		v.Pre, rest = rest[i+1:], rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH, e.g. 1.4.0", s)
	}
	nums := [3]*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("version %q: %q is not a number without leading zeros", s, p)
		}
		*nums[i] = n
	}
	return v, nil
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare orders versions by precedence (build metadata is ignored; a
// pre-release sorts before its release).
func (v Version) Compare(w Version) int {
	if c := cmp.Or(cmp.Compare(v.Major, w.Major), cmp.Compare(v.Minor, w.Minor), cmp.Compare(v.Patch, w.Patch)); c != 0 {
		return c
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	return cmp.Compare(v.Pre, w.Pre)
}

// Constraint is a set of comparisons that must all hold, written
// ">=1.2.0, <2.0.0", "^1.2.0" (same major), "~1.2.0" (same minor),
// "=1.2.3" or "1.2.3".
type Constraint struct {
	raw string
	cmp []comparison
}

type comparison struct {
	op string
	v  Version
}

// ParseConstraint parses a comma- or space-separated list of comparisons.
func ParseConstraint(s string) (Constraint, error) {
	c := Constraint{raw: s}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		op := f[:len(f)-len(strings.TrimLeft(f, "<>=^~"))]
		verText := f[len(op):]
		switch op {
		case "", "=", ">", ">=", "<", "<=", "^", "~":
		default:
			return c, fmt.Errorf("version constraint %q: unknown operator %q (use =, >, >=, <, <=, ^ or ~)", s, op)
		}
		v, err := parsePartial(verText)
		if err != nil {
			return c, fmt.Errorf("version constraint %q: %w", s, err)
		}
		if op == "" {
			op = "="
		}
		c.cmp = append(c.cmp, comparison{op, v})
	}
	if len(c.cmp) == 0 {
		return c, fmt.Errorf("version constraint %q is empty", s)
	}
	return c, nil
}

// parsePartial accepts 1, 1.2 or 1.2.3 (missing parts are 0).
func parsePartial(s string) (Version, error) {
	switch strings.Count(s, ".") {
	case 0:
		s += ".0.0"
	case 1:
		s += ".0"
	}
	return ParseVersion(s)
}

// Allows reports whether v satisfies every comparison.
func (c Constraint) Allows(v Version) bool {
	for _, x := range c.cmp {
		d := v.Compare(x.v)
		ok := false
		switch x.op {
		case "=":
			ok = d == 0
		case ">":
			ok = d > 0
		case ">=":
			ok = d >= 0
		case "<":
			ok = d < 0
		case "<=":
			ok = d <= 0
		case "^":
			ok = d >= 0 && v.Major == x.v.Major
		case "~":
			ok = d >= 0 && v.Major == x.v.Major && v.Minor == x.v.Minor
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c Constraint) String() string { return c.raw }
