package dashboards

import (
	"fmt"
	"slices"
	"strings"
)

// promqlWords are PromQL keywords that look like metric names but are not.
var promqlWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"offset": true, "bool": true, "and": true, "or": true, "unless": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	// aggregation operators may take "by (…)" before their "(": sum by (x) (m)
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// labelListWords are followed by a parenthesised list of label names.
var labelListWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// MetricNames returns the metric names a PromQL expression selects, sorted
// and without repeats. It is a lexer, not a parser: it skips strings,
// label matchers ({…}), ranges ([…]), numbers, durations, keywords,
// function names (a word before "(") and the label lists of by/without/
// on/ignoring/group_left/group_right; every other word is a metric. It
// reports unbalanced brackets and unterminated strings; promtool checks the
// full grammar of the built-in pack's queries in the tests.
func MetricNames(expr string) ([]string, error) {
	var out []string
	depth := map[byte]int{}
	closing := map[byte]byte{')': '(', '}': '{', ']': '['}
	var stack []byte
	afterLabelWord := false
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = j
			continue
		case c == '$': // a dashboard variable ($host, ${host}, $__rate_interval)
			i++
			if i < len(expr) && expr[i] == '{' {
				j := strings.IndexByte(expr[i:], '}')
				if j < 0 {
					return nil, fmt.Errorf("unclosed ${ at offset %d", i-1)
				}
				i += j + 1
				continue
			}
			for i < len(expr) && isWordChar(expr[i]) {
				i++
			}
			continue
		case c == '#': // comment to the end of the line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
			continue
		case c == '{' || c == '[' || c == '(':
			if c == '(' && afterLabelWord {
				// by (a, b): label names, not metrics.
				j := strings.IndexByte(expr[i:], ')')
				if j < 0 {
					return nil, fmt.Errorf("unbalanced '(' at offset %d", i)
				}
				i += j + 1
				afterLabelWord = false
				continue
			}
			stack = append(stack, c)
			depth[c]++
			i++
			continue
		case c == '}' || c == ']' || c == ')':
			if len(stack) == 0 || stack[len(stack)-1] != closing[c] {
				return nil, fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			stack = stack[:len(stack)-1]
			depth[closing[c]]--
			i++
			continue
		case isWordStart(c):
			j := i
			for j < len(expr) && isWordChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			i = j
			if depth['{'] > 0 || depth['['] > 0 {
				continue // label names and values, durations
			}
			k := j
			for k < len(expr) && (expr[k] == ' ' || expr[k] == '\t' || expr[k] == '\n' || expr[k] == '\r') {
				k++
			}
			lw := strings.ToLower(word)
			if labelListWords[lw] {
				afterLabelWord = true
				continue
			}
			afterLabelWord = false
			if promqlWords[lw] || (k < len(expr) && expr[k] == '(') {
				continue
			}
			if !slices.Contains(out, word) {
				out = append(out, word)
			}
			continue
		case c >= '0' && c <= '9' || c == '.':
			// numbers, hex, exponents and durations (5m, 1e3, 0x1f)
			for i < len(expr) && (isWordChar(expr[i]) || expr[i] == '.') {
				i++
			}
			continue
		}
		i++
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	slices.Sort(out)
	return out, nil
}

func isWordStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isWordChar(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') }

// skipString returns the offset after the string literal starting at i.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", i)
}
