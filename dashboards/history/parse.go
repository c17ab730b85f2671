package history

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"crmwatch/dashboards"
	"crmwatch/packs"
)

// node is one step of a query the rollups can answer.
type node interface{ isNode() }

// selectorNode selects series of one metric by label matchers: counter
// series from the rollups, or server metrics from the Recorder.
type selectorNode struct {
	metric   string
	matchers []matcher
}

// rateNode is rate or increase of a recorded server counter over a window.
type rateNode struct {
	fn     string // rate or increase
	window time.Duration
	sel    selectorNode
}

// overTimeNode is avg/min/max_over_time of a selector over a window that
// is one of the rollup resolutions.
type overTimeNode struct {
	fn     string // avg, min or max
	window time.Duration
	sel    selectorNode
}

// aggNode is sum/min/max/avg by labels.
type aggNode struct {
	op  string
	by  []string
	arg node
}

// arithNode is arithmetic between a vector and a number.
type arithNode struct {
	op         byte
	num        float64
	numOnLeft  bool
	vec        node
	numberOnly bool // both sides numbers: vec is nil, num the result
}

func (selectorNode) isNode() {}
func (rateNode) isNode()     {}
func (overTimeNode) isNode() {}
func (aggNode) isNode()      {}
func (arithNode) isNode()    {}

type matcher struct {
	label, op, value string
	re               *regexp.Regexp
}

// NotRecorded explains why a query has no history on this server.
type NotRecorded struct{ Reason string }

func (e *NotRecorded) Error() string { return e.Reason }

// serverMetric says whether the Recorder keeps metric.
func serverMetric(metric string) bool {
	s, ok := dashboards.Exposed[metric]
	return ok && s.Process == "server"
}

// compile maps expr onto the rollups (and, with recording, the Recorder's
// server metrics), with $host replaced by hostRe. A query it cannot map
// returns *NotRecorded.
func compile(q dashboards.Query, hostRe string, recording bool) (node, error) {
	for _, m := range q.Metrics {
		if m == packs.CounterMetric || recording && serverMetric(m) {
			continue
		}
		where := "server"
		if s, ok := dashboards.Exposed[m]; ok {
			where = s.Process
		}
		return nil, &NotRecorded{Reason: fmt.Sprintf("%s is a metric of the %s's own /metrics, which this server does not record; "+
			"scrape it with Prometheus and use the exported Grafana dashboards (crmwatch dashboards export)", m, where)}
	}
	expr := strings.NewReplacer("${host}", hostRe, "$host", hostRe).Replace(q.Expr)
	p := &parser{recording: recording}
	if err := p.lex(expr); err != nil {
		return nil, &NotRecorded{Reason: "query " + strconv.Quote(q.Expr) + ": " + err.Error()}
	}
	n, err := p.expr()
	if err == nil && p.i < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	if err != nil {
		return nil, &NotRecorded{Reason: "the rollups cannot answer " + strconv.Quote(q.Expr) + ": " + err.Error()}
	}
	return n, nil
}

type token struct {
	kind byte // 'w' word, 'n' number, 's' string, 'd' duration, else the punctuation itself ('=' '!' '~' are combined in text)
	text string
}

type parser struct {
	toks      []token
	i         int
	recording bool
}

func (p *parser) lex(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'' || c == '`':
			j, err := stringEnd(s, i)
			if err != nil {
				return err
			}
			v, err := unquote(s[i:j])
			if err != nil {
				return fmt.Errorf("string %s: %v", s[i:j], err)
			}
			p.toks = append(p.toks, token{'s', v})
			i = j
		case isWordStart(c):
			j := i
			for j < len(s) && (isWordStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			p.toks = append(p.toks, token{'w', s[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			if j < len(s) && strings.IndexByte("smhdwy", s[j]) >= 0 {
				for j < len(s) && (isWordStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
					j++
				}
				p.toks = append(p.toks, token{'d', s[i:j]})
			} else {
				p.toks = append(p.toks, token{'n', s[i:j]})
			}
			i = j
		case strings.HasPrefix(s[i:], "=~"), strings.HasPrefix(s[i:], "!~"), strings.HasPrefix(s[i:], "!="):
			p.toks = append(p.toks, token{'o', s[i : i+2]})
			i += 2
		case strings.IndexByte("(){}[],=+-*/", c) >= 0:
			p.toks = append(p.toks, token{c, string(c)})
			i++
		default:
			return fmt.Errorf("unexpected %q", c)
		}
	}
	return nil
}

func isWordStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func stringEnd(s string, i int) (int, error) {
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

func unquote(lit string) (string, error) {
	if lit[0] == '\'' { // PromQL single quotes escape like double quotes
		lit = `"` + strings.ReplaceAll(strings.ReplaceAll(lit[1:len(lit)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	return strconv.Unquote(lit)
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{}
}

func (p *parser) take(kind byte) (token, error) {
	t := p.peek()
	if t.kind != kind {
		if t.kind == 0 {
			return t, fmt.Errorf("expected %q, found the end", kind)
		}
		return t, fmt.Errorf("expected %q, found %q", kind, t.text)
	}
	p.i++
	return t, nil
}

// expr: term [op term], one side a number (no vector-vector matching).
func (p *parser) expr() (node, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != '+' && t.kind != '-' && t.kind != '*' && t.kind != '/' {
		return left, nil
	}
	p.i++
	right, err := p.term()
	if err != nil {
		return nil, err
	}
	ln, lnum := left.(arithNode)
	rn, rnum := right.(arithNode)
	lnum, rnum = lnum && ln.numberOnly, rnum && rn.numberOnly
	switch {
	case lnum && rnum:
		return arithNode{numberOnly: true, num: apply(t.kind, ln.num, rn.num)}, nil
	case lnum:
		return arithNode{op: t.kind, num: ln.num, numOnLeft: true, vec: right}, nil
	case rnum:
		return arithNode{op: t.kind, num: rn.num, vec: left}, nil
	}
	return nil, fmt.Errorf("%q between two series (vector matching) is not evaluated on the rollups", t.text)
}

func apply(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	}
	return a / b
}

var overTime = map[string]string{"avg_over_time": "avg", "min_over_time": "min", "max_over_time": "max"}
var rates = map[string]bool{"rate": true, "increase": true}
var sorts = map[string]bool{"sort": true, "sort_desc": true} // order only: the console sorts by name
var aggOps = map[string]bool{"sum": true, "min": true, "max": true, "avg": true}

func (p *parser) term() (node, error) {
	t := p.peek()
	switch {
	case t.kind == 'n':
		p.i++
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("number %q", t.text)
		}
		return arithNode{numberOnly: true, num: v}, nil
	case t.kind == '(':
		p.i++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		_, err = p.take(')')
		return n, err
	case t.kind == 'w' && (t.text == packs.CounterMetric || p.recording && serverMetric(t.text)):
		return p.selector()
	case t.kind == 'w' && rates[t.text] && p.recording:
		return p.rate()
	case t.kind == 'w' && sorts[t.text]:
		p.i++
		if _, err := p.take('('); err != nil {
			return nil, err
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		_, err = p.take(')')
		return n, err
	case t.kind == 'w' && overTime[t.text] != "":
		return p.overTime()
	case t.kind == 'w' && aggOps[t.text]:
		return p.agg()
	case t.kind == 'w':
		return nil, fmt.Errorf("%s is not evaluated on the rollups (only avg/min/max_over_time and sum/min/max/avg; rate and increase of server counters)", t.text)
	case t.kind == 0:
		return nil, fmt.Errorf("unexpected end")
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

func (p *parser) selector() (selectorNode, error) {
	sel := selectorNode{metric: p.toks[p.i].text}
	p.i++
	if p.peek().kind != '{' {
		return sel, nil
	}
	p.i++
	for p.peek().kind != '}' {
		name, err := p.take('w')
		if err != nil {
			return sel, err
		}
		op := p.peek()
		if op.kind != '=' && op.kind != 'o' {
			return sel, fmt.Errorf("expected a matcher after %s", name.text)
		}
		p.i++
		val, err := p.take('s')
		if err != nil {
			return sel, err
		}
		m := matcher{label: name.text, op: op.text, value: val.text}
		if op.text == "=~" || op.text == "!~" {
			if m.re, err = regexp.Compile("^(?:" + val.text + ")$"); err != nil {
				return sel, fmt.Errorf("regular expression %q: %v", val.text, err)
			}
		}
		sel.matchers = append(sel.matchers, m)
		if p.peek().kind == ',' {
			p.i++
		}
	}
	p.i++
	return sel, nil
}

func (p *parser) overTime() (node, error) {
	fn := overTime[p.toks[p.i].text]
	p.i++
	if _, err := p.take('('); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 'w' || t.text != packs.CounterMetric {
		return nil, fmt.Errorf("%s_over_time of something other than a counter selector", fn)
	}
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	window, err := p.window()
	if err != nil {
		return nil, err
	}
	if _, err := p.take(')'); err != nil {
		return nil, err
	}
	return overTimeNode{fn: fn, window: window, sel: sel}, nil
}

// rate parses rate or increase of a recorded server counter.
func (p *parser) rate() (node, error) {
	fn := p.toks[p.i].text
	p.i++
	if _, err := p.take('('); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 'w' || !serverMetric(t.text) {
		return nil, fmt.Errorf("%s of something other than a server counter", fn)
	}
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	window, err := p.window()
	if err != nil {
		return nil, err
	}
	if _, err := p.take(')'); err != nil {
		return nil, err
	}
	return rateNode{fn: fn, window: window, sel: sel}, nil
}

// window parses "[duration]".
func (p *parser) window() (time.Duration, error) {
	if _, err := p.take('['); err != nil {
		return 0, err
	}
	d, err := p.take('d')
	if err != nil {
		return 0, err
	}
	w, err := parseDuration(d.text)
	if err != nil {
		return 0, err
	}
	_, err = p.take(']')
	return w, err
}

func parseDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	u, ok := units[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("duration %q: want a whole number of s, m, h, d or w", s)
	}
	return time.Duration(n) * u, nil
}

func (p *parser) agg() (node, error) {
	op := p.toks[p.i].text
	p.i++
	var by []string
	labels := func() error {
		if t := p.peek(); t.kind == 'w' && t.text == "by" {
			p.i++
			if _, err := p.take('('); err != nil {
				return err
			}
			for p.peek().kind != ')' {
				l, err := p.take('w')
				if err != nil {
					return err
				}
				by = append(by, l.text)
				if p.peek().kind == ',' {
					p.i++
				}
			}
			p.i++
		} else if t.kind == 'w' && t.text == "without" {
			return fmt.Errorf("%s without (…) is not evaluated on the rollups", op)
		}
		return nil
	}
	if err := labels(); err != nil {
		return nil, err
	}
	if _, err := p.take('('); err != nil {
		return nil, err
	}
	arg, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.take(')'); err != nil {
		return nil, err
	}
	if by == nil {
		if err := labels(); err != nil {
			return nil, err
		}
	}
	return aggNode{op: op, by: by, arg: arg}, nil
}
