package rules

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"
)

// SummaryData is what a rule's summary template sees. Field names are the
// ones rules/spec.go documents for Summary.
type SummaryData struct {
	Host          string
	Organization  string
	Hosts         []string
	Organizations []string
	Counter       string
	Instance      string
	Value         Reading
	Count         int
	Message       string
	Fields        map[string]string
}

// Reading is a counter value in a summary: {{.Value}} prints at most four
// significant digits ("94.99", not "94.98997995991984"); printf and the
// comparison functions see the number itself.
type Reading float64

// String rounds for the NOC's eyes; large values keep every integer digit.
func (r Reading) String() string {
	v := float64(r)
	if math.Abs(v) >= 1e4 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

var summaryFuncs = template.FuncMap{
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
}

// compileSummary parses the template and runs it once on sample data so a
// reference to an unknown field fails at Load, not when an alert is raised.
func compileSummary(id, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("missing: write what the NOC reads, e.g. \"{{.Count}} errors on {{.Host}}\"")
	}
	if len(text) > MaxSummaryTemplate {
		return nil, fmt.Errorf("%d bytes; summaries are limited to %d", len(text), MaxSummaryTemplate)
	}
	t, err := template.New(id).Funcs(summaryFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := checkSummaryTree(t); err != nil {
		return nil, err
	}
	sample := SummaryData{
		Host: "host", Organization: "org", Hosts: []string{"host"}, Organizations: []string{"org"},
		Counter: `\Object(instance)\Counter`, Instance: "instance", Value: 1, Count: 1,
		Message: "message", Fields: map[string]string{},
	}
	if err := t.Execute(&limitWriter{w: &bytes.Buffer{}, left: MaxSummary}, &sample); err != nil {
		return nil, err
	}
	return t, nil
}

// MaxHeadline caps {{.Message}} in a summary: the first line of the
// message, cut at a rune boundary. The whole message stays on the alert's
// events.
const MaxHeadline = 300

// headline is the first non-blank line of a message (a CRM exception's
// first line names it; the stack trace follows), at most MaxHeadline bytes.
func headline(msg string) string {
	for msg != "" {
		line, rest, _ := strings.Cut(msg, "\n")
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > MaxHeadline {
				cut := MaxHeadline
				for cut > 0 && !utf8.RuneStart(line[cut]) {
					cut--
				}
				line = line[:cut] + "…"
			}
			return line
		}
		msg = rest
	}
	return ""
}

// oneLine folds line breaks a template or field brought into a summary:
// the NOC reads a summary as one line.
func oneLine(b *bytes.Buffer) {
	s := strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(b.String())), " ")
	b.Reset()
	b.WriteString(s)
}

// MaxSummary caps a rendered summary in bytes; a longer one is cut.
const MaxSummary = 2048

var errSummaryTooLong = errors.New("summary longer than 2048 bytes")

// limitWriter stops a template that writes more than left bytes, so a
// runaway {{range}} fails at Load instead of filling memory.
type limitWriter struct {
	w    *bytes.Buffer
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		l.w.Write(p[:l.left])
		l.left = 0
		return 0, errSummaryTooLong
	}
	l.left -= len(p)
	return l.w.Write(p)
}
