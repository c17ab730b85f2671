package rules

import (
	"errors"
	"fmt"
	"text/template"
	"text/template/parse"
)

// Bounds on summary templates. A template runs on every alert change, and
// text/template alone bounds neither work nor recursion: {{range
// 1000000000}}{{end}} writes nothing for seconds, and twenty-odd {{define}}s
// that each call the next twice make 2^20 calls (measured: 1.7 s and 3.2 s at
// Load, per rule). Summaries are one line for the NOC, so they get a small
// language: no define/template/block, range only over the alert's own
// lists and at most maxRangeDepth deep, and a bounded size.
const (
	// MaxSummaryTemplate caps the template text in bytes.
	MaxSummaryTemplate = 4096
	// maxRangeDepth bounds nested ranges: Hosts and Organizations hold at
	// most MaxListed entries, so two levels are at most 2,500 iterations.
	maxRangeDepth = 2
)

// rangeable are the SummaryData fields a range may iterate over.
var rangeable = map[string]bool{"Hosts": true, "Organizations": true, "Fields": true}

// checkSummaryTree enforces the bounds on a parsed summary template.
func checkSummaryTree(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New("{{define}} and {{block}} are not supported in summaries")
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	var errs []error
	walkSummary(t.Tree.Root, 0, &errs)
	return errors.Join(errs...)
}

func walkSummary(n parse.Node, depth int, errs *[]error) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walkSummary(c, depth, errs)
		}
	case *parse.TemplateNode:
		*errs = append(*errs, fmt.Errorf("{{template %q}} is not supported in summaries", x.Name))
	case *parse.RangeNode:
		if depth >= maxRangeDepth {
			*errs = append(*errs, fmt.Errorf("{{range}} nested more than %d deep", maxRangeDepth))
		}
		if !rangesOverData(x.Pipe) {
			*errs = append(*errs, fmt.Errorf("{{range %s}}: range only over .Hosts, .Organizations or .Fields (or $ forms of them)", x.Pipe))
		}
		walkSummary(x.List, depth+1, errs)
		walkSummary(x.ElseList, depth, errs)
	case *parse.IfNode:
		walkSummary(x.List, depth, errs)
		walkSummary(x.ElseList, depth, errs)
	case *parse.WithNode:
		walkSummary(x.List, depth, errs)
		walkSummary(x.ElseList, depth, errs)
	}
}

// rangesOverData reports whether a range pipeline is exactly one of the
// alert's lists: .Hosts, $.Hosts (or Organizations, Fields).
func rangesOverData(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return len(a.Ident) == 1 && rangeable[a.Ident[0]]
	case *parse.VariableNode:
		return len(a.Ident) == 2 && a.Ident[0] == "$" && rangeable[a.Ident[1]]
	}
	return false
}
