package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// exponentialTemplate is n {{define}}s each calling the next twice: 2^n
// calls that write nothing.
func exponentialTemplate(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{{define "a%d"}}{{template "a%d" .}}{{template "a%d" .}}{{end}}`, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `{{define "a%d"}}{{end}}{{template "a0" .}}`, n)
	return b.String()
}

// Summaries that would make Load (and every alert change) spin are
// rejected at once, with a reason.
func TestSummaryBounds(t *testing.T) {
	for _, tc := range []struct{ name, summary, want string }{
		{"range over a number", `{{range 1000000000}}{{end}}`, "range only over .Hosts"},
		{"range over a variable", `{{$n := 1000000000}}{{range $n}}{{end}}`, "range only over .Hosts"},
		{"recursion", `{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`, "{{define}} and {{block}} are not supported"},
		{"exponential calls", exponentialTemplate(40), "not supported"},
		{"template call", `{{template "x"}}`, `{{template "x"}} is not supported`},
		{"ranges three deep", `{{range .Hosts}}{{range $.Hosts}}{{range $.Organizations}}{{end}}{{end}}{{end}}`, "nested more than 2 deep"},
		{"too long", strings.Repeat("x", MaxSummaryTemplate+1), "summaries are limited to 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := compileSummary("r", tc.summary)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want …%s…", err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("rejecting took %v", d)
			}
		})
	}
	for _, ok := range []string{
		`{{range .Hosts}}{{.}} {{end}}`,
		`{{range $h := $.Hosts}}{{range $.Organizations}}{{$h}}/{{.}} {{end}}{{end}}`,
		`{{range $k, $v := .Fields}}{{$k}}={{$v}}{{else}}none{{end}}`,
		`{{if .Hosts}}{{join .Hosts ", "}}{{else}}{{.Host}}{{end}} {{with .Message}}{{.}}{{end}}`,
	} {
		if _, err := compileSummary("r", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestPatternBound(t *testing.T) {
	src := fmt.Sprintf("- {id: a, kind: event, summary: s, event: {message: '%s'}}", strings.Repeat("a", MaxPattern+1))
	if err := Validate(parseRules(t, src)); err == nil || !strings.Contains(err.Error(), "patterns are limited to 4096") {
		t.Errorf("got %v", err)
	}
}
