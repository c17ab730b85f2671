package simulate

import (
	"errors"
	"fmt"
	"strings"
)

// level is a CRM trace level. Levels are cumulative (reference §3.2): a
// category set to Warning writes Error and Warning records.
type level uint8

const (
	levelOff level = iota
	levelError
	levelWarning
	levelInfo
	levelVerbose
)

var levelNames = [...]string{"Off", "Error", "Warning", "Info", "Verbose"}

func (l level) String() string { return levelNames[l] }

func parseLevel(s string) (level, bool) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return level(i), true
		}
	}
	return levelOff, false
}

// categoryRule is one `Category.Feature:Level` entry of TraceCategories.
type categoryRule struct {
	pattern string // "*", "Platform.*", "Platform.Sql"
	level   level
}

// categoryFilter decides which records a TraceCategories value lets through.
type categoryFilter struct{ rules []categoryRule }

// parseCategories parses a TraceCategories value: entries separated by ';',
// each `pattern:Level`; the pattern is `*`, `Family.*` or a category name.
func parseCategories(s string) (categoryFilter, error) {
	var f categoryFilter
	var errs []error
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		pat, lv, ok := strings.Cut(entry, ":")
		pat, lv = strings.TrimSpace(pat), strings.TrimSpace(lv)
		if !ok || pat == "" {
			errs = append(errs, fmt.Errorf("entry %q: want Category:Level, e.g. *:Verbose or Platform.Sql:Error", entry))
			continue
		}
		l, ok := parseLevel(lv)
		if !ok {
			errs = append(errs, fmt.Errorf("entry %q: level %q is not Off, Error, Warning, Info or Verbose", entry, lv))
			continue
		}
		if strings.Contains(strings.TrimSuffix(pat, "*"), "*") {
			errs = append(errs, fmt.Errorf("entry %q: a wildcard may only end the pattern (*, Platform.*)", entry))
			continue
		}
		f.rules = append(f.rules, categoryRule{pattern: pat, level: l})
	}
	if len(f.rules) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%q has no Category:Level entry", s))
	}
	return f, errors.Join(errs...)
}

// allows reports whether a record of category cat at level l is written. The
// most specific matching pattern wins (exact name, then the longest
// wildcard prefix); a category no pattern matches is not traced.
func (f categoryFilter) allows(cat string, l level) bool {
	best, bestLen := levelOff, -1
	for _, r := range f.rules {
		n := matchLen(r.pattern, cat)
		if n > bestLen {
			best, bestLen = r.level, n
		}
	}
	return bestLen >= 0 && l != levelOff && l <= best
}

// matchLen returns how specific pattern is for cat (-1: no match).
func matchLen(pattern, cat string) int {
	if pattern == "*" {
		return 0
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		if strings.HasPrefix(cat, prefix) || cat == strings.TrimSuffix(prefix, ".") {
			return len(prefix)
		}
		return -1
	}
	if strings.EqualFold(pattern, cat) {
		return 1 << 20
	}
	return -1
}
