package packs

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Params are the values of pack parameters for one target: a number
// (float64) or a string. Thresholds that depend on the machine (RAM, CPU
// count, SQL instance name) are written as ${expression} over them.
type Params map[string]any

// merge returns p with q's values on top.
func (p Params) merge(q Params) Params {
	out := maps.Clone(p)
	if out == nil {
		out = Params{}
	}
	maps.Copy(out, q)
	return out
}

// substError is a parameter problem at a scalar's position.
type substError struct {
	pos position
	err error
}

func (e *substError) Error() string { return e.err.Error() }
func (e *substError) Unwrap() error { return e.err }

// substitute returns a copy of n with every ${…} in scalars replaced. A
// scalar that is exactly one ${expr} becomes a number (or the string value
// of a string parameter); text around references is interpolated.
func substitute(n *yaml.Node, p Params) (*yaml.Node, error) {
	if n == nil {
		return nil, nil
	}
	c := *n
	if n.Kind == yaml.ScalarNode {
		if !strings.Contains(n.Value, "${") {
			return &c, nil
		}
		if err := substituteScalar(&c, p); err != nil {
			return nil, &substError{pos: position{n.Line, n.Column}, err: err}
		}
		return &c, nil
	}
	if n.Kind == yaml.AliasNode {
		return substitute(n.Alias, p)
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		s, err := substitute(ch, p)
		if err != nil {
			return nil, err
		}
		c.Content[i] = s
	}
	return &c, nil
}

func substituteScalar(n *yaml.Node, p Params) error {
	v := n.Value
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") && strings.Count(v, "${") == 1 {
		val, err := evalExpr(v[2:len(v)-1], p)
		if err != nil {
			return err
		}
		setScalar(n, val)
		return nil
	}
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			break
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return fmt.Errorf("unclosed ${ in %q", n.Value)
		}
		val, err := evalExpr(v[i+2:i+j], p)
		if err != nil {
			return err
		}
		b.WriteString(v[:i])
		b.WriteString(formatParam(val))
		v = v[i+j+1:]
	}
	n.Value, n.Tag, n.Style = b.String(), "!!str", 0
	return nil
}

func setScalar(n *yaml.Node, val any) {
	n.Style = 0
	switch x := val.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			n.Value, n.Tag = strconv.FormatInt(int64(x), 10), "!!int"
			return
		}
		n.Value, n.Tag = strconv.FormatFloat(x, 'g', -1, 64), "!!float"
	default:
		n.Value, n.Tag = formatParam(val), "!!str"
	}
}

func formatParam(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// evalExpr evaluates + - * / and parentheses over numbers and parameters.
// A string parameter is allowed only alone (${sql_instance}).
func evalExpr(src string, p Params) (any, error) {
	e := exprParser{src: src, params: p}
	e.skip()
	if name, ok := e.identOnly(); ok {
		v, found := p[name]
		if !found {
			return nil, fmt.Errorf("unknown parameter %q in ${%s} (declare it under parameters: in pack.yaml)", name, src)
		}
		return v, nil
	}
	v, err := e.sum()
	if err != nil {
		return nil, fmt.Errorf("${%s}: %w", src, err)
	}
	e.skip()
	if e.i < len(e.src) {
		return nil, fmt.Errorf("${%s}: unexpected %q", src, e.src[e.i:])
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("${%s}: result is not a finite number", src)
	}
	return v, nil
}

type exprParser struct {
	src    string
	i      int
	depth  int
	params Params
}

func (e *exprParser) skip() {
	for e.i < len(e.src) && e.src[e.i] == ' ' {
		e.i++
	}
}

func isIdent(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// identOnly reports whether the whole expression is one identifier.
func (e *exprParser) identOnly() (string, bool) {
	s := strings.TrimSpace(e.src)
	if s == "" || !isIdent(s[0], true) {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		if !isIdent(s[i], false) {
			return "", false
		}
	}
	return s, true
}

func (e *exprParser) sum() (float64, error) {
	v, err := e.product()
	for err == nil {
		e.skip()
		if e.i >= len(e.src) || (e.src[e.i] != '+' && e.src[e.i] != '-') {
			return v, nil
		}
		op := e.src[e.i]
		e.i++
		var r float64
		if r, err = e.product(); op == '+' {
			v += r
		} else {
			v -= r
		}
	}
	return 0, err
}

func (e *exprParser) product() (float64, error) {
	v, err := e.factor()
	for err == nil {
		e.skip()
		if e.i >= len(e.src) || (e.src[e.i] != '*' && e.src[e.i] != '/') {
			return v, nil
		}
		op := e.src[e.i]
		e.i++
		var r float64
		if r, err = e.factor(); err != nil {
			break
		}
		if op == '*' {
			v *= r
		} else if r == 0 {
			return 0, fmt.Errorf("division by zero")
		} else {
			v /= r
		}
	}
	return 0, err
}

func (e *exprParser) factor() (float64, error) {
	e.skip()
	if e.i >= len(e.src) {
		return 0, fmt.Errorf("expression ends early")
	}
	c := e.src[e.i]
	switch {
	case c == '(':
		if e.depth++; e.depth > 32 {
			return 0, fmt.Errorf("too many nested parentheses")
		}
		e.i++
		v, err := e.sum()
		if err != nil {
			return 0, err
		}
		e.skip()
		if e.i >= len(e.src) || e.src[e.i] != ')' {
			return 0, fmt.Errorf("missing )")
		}
		e.i++
		e.depth--
		return v, nil
	case c == '-':
		if e.depth++; e.depth > 32 {
			return 0, fmt.Errorf("too many nested signs")
		}
		e.i++
		v, err := e.factor()
		e.depth--
		return -v, err
	case (c >= '0' && c <= '9') || c == '.':
		start := e.i
		for e.i < len(e.src) && (e.src[e.i] >= '0' && e.src[e.i] <= '9' || e.src[e.i] == '.') {
			e.i++
		}
		return strconv.ParseFloat(e.src[start:e.i], 64)
	case isIdent(c, true):
		start := e.i
		for e.i < len(e.src) && isIdent(e.src[e.i], false) {
			e.i++
		}
		name := e.src[start:e.i]
		v, ok := e.params[name]
		if !ok {
			return 0, fmt.Errorf("unknown parameter %q (declare it under parameters: in pack.yaml)", name)
		}
		f, ok := v.(float64)
		if !ok {
			return 0, fmt.Errorf("parameter %q is a string; only numbers can be used in arithmetic", name)
		}
		return f, nil
	}
	return 0, fmt.Errorf("unexpected %q", e.src[e.i:])
}

// Expand resolves the ${…} references of one scalar text the way pack
// files are resolved: exactly one ${expr} gives its value (float64 or
// string), anything else the interpolated string.
func Expand(text string, p Params) (any, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: text}
	out, err := substitute(n, p)
	if err != nil {
		return nil, err
	}
	if out.Tag == "!!int" || out.Tag == "!!float" {
		return strconv.ParseFloat(out.Value, 64)
	}
	return out.Value, nil
}
