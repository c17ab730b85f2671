package packs

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a pack, overrides or test file, located
// as precisely as the loader could (Line 0 means the whole file).
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Path is the JSON pointer of the offending value, when known.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// String formats file:line:col: message, the form editors jump to.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found; it is the error Load and friends return
// so a caller sees all of them at once.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sorted orders problems by file, line and column so output is stable.
func (ps Problems) sorted() Problems {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return out
}

// problemList collects problems while a file is checked.
type problemList struct{ ps Problems }

func (l *problemList) add(file string, pos position, path, format string, args ...any) {
	l.ps = append(l.ps, Problem{File: file, Line: pos.Line, Column: pos.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns nil or the sorted Problems.
func (l *problemList) err() error {
	if len(l.ps) == 0 {
		return nil
	}
	return l.ps.sorted()
}
