package tracing

import (
	"strings"
)

const errorReportMarker = "MSCRM Error Report:"

// body classifies the lines after the head, starting at s[i:]:
//   - `>text` starts (or, once started, continues) the message;
//   - once a message started, every other line continues it (the MSCRM Error
//     Report body follows `>MSCRM Error Report:` without `>` marks);
//   - before that, indented lines are call-stack lines;
//   - a `[yyyy-…` line that is not a valid head is a corrupt head: malformed;
//   - a line with NUL bytes is malformed;
//   - any other text before a message is the message (Outlook client records
//     write it without `>`).
func (p *parser) body(rec *Record, s string, i int) {
	started := len(p.msg) > 0
	for i < len(s) {
		end := strings.IndexByte(s[i:], '\n')
		next := len(s)
		if end < 0 {
			end = len(s)
		} else {
			end += i
			next = end + 1
		}
		lineEnd := end
		if lineEnd > i && s[lineEnd-1] == '\r' {
			lineEnd--
		}
		line := s[i:lineEnd]
		switch {
		case strings.IndexByte(line, 0) >= 0:
			rec.Malformed = append(rec.Malformed, cleanMalformed(line))
		case looksLikeHead(line):
			rec.Malformed = append(rec.Malformed, line)
		case len(line) > 0 && line[0] == '>':
			p.msg = append(p.msg, span{i + 1, lineEnd})
			started = true
		case started:
			p.msg = append(p.msg, span{i, lineEnd})
		case strings.TrimSpace(line) == "":
			// blank line before any message: nothing to keep
		case line[0] == ' ' || line[0] == '\t':
			rec.CallStack = append(rec.CallStack, strings.TrimSpace(line))
		default:
			p.msg = append(p.msg, span{i, lineEnd})
			started = true
		}
		i = next
	}
}

// joinMessage builds Message from its pieces. Pieces that sit back to back
// in s separated by a single LF (the common case) are returned as one
// substring without copying; otherwise they are joined with "\n".
func (p *parser) joinMessage(rec *Record, s string) {
	m := p.msg
	// Trailing blank lines are not part of the message.
	for len(m) > 0 && strings.TrimSpace(s[m[len(m)-1].from:m[len(m)-1].to]) == "" {
		m = m[:len(m)-1]
	}
	switch len(m) {
	case 0:
		return
	case 1:
		rec.Message = strings.TrimRight(s[m[0].from:m[0].to], " \t")
		return
	}
	contiguous := true
	for k := 1; k < len(m); k++ {
		if m[k].from != m[k-1].to+1 {
			contiguous = false
			break
		}
	}
	if contiguous {
		rec.Message = strings.TrimRight(s[m[0].from:m[len(m)-1].to], " \t")
		return
	}
	n := len(m) - 1
	for _, sp := range m {
		n += sp.to - sp.from
	}
	var b strings.Builder
	b.Grow(n)
	for k, sp := range m {
		if k > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s[sp.from:sp.to])
	}
	rec.Message = strings.TrimRight(b.String(), " \t")
}

// errorReportKeys maps the "Key:" of an MSCRM Error Report line to its field.
var errorReportKeys = map[string]func(*ErrorReport) *string{
	"Error":            func(e *ErrorReport) *string { return &e.Error },
	"Error Number":     func(e *ErrorReport) *string { return &e.ErrorNumber },
	"Error Message":    func(e *ErrorReport) *string { return &e.ErrorMessage },
	"Error Details":    func(e *ErrorReport) *string { return &e.ErrorDetails },
	"Source File":      func(e *ErrorReport) *string { return &e.SourceFile },
	"Line Number":      func(e *ErrorReport) *string { return &e.LineNumber },
	"Request URL":      func(e *ErrorReport) *string { return &e.RequestURL },
	"Stack Trace Info": func(e *ErrorReport) *string { return &e.StackTrace },
}

// parseErrorReport reads the `Key: value` lines after "MSCRM Error Report:".
// Separator lines (dashes) are skipped; a line with no known key continues
// the previous field (Stack Trace Info spans many lines).
func parseErrorReport(msg string) *ErrorReport {
	k := strings.Index(msg, errorReportMarker)
	rest := msg[k+len(errorReportMarker):]
	e := &ErrorReport{}
	var cur *string
	for rest != "" {
		var line string
		line, rest = cutLine(rest)
		t := strings.TrimSpace(line)
		if t == "" || strings.Trim(t, "-") == "" {
			continue
		}
		if key, val, ok := strings.Cut(t, ":"); ok {
			if f, known := errorReportKeys[strings.TrimSpace(key)]; known {
				cur = f(e)
				*cur = strings.TrimSpace(val)
				continue
			}
		}
		if cur != nil {
			if *cur != "" {
				*cur += "\n"
			}
			*cur += t
		}
	}
	if *e == (ErrorReport{}) {
		return nil
	}
	return e
}

// looksLikeHead reports a line that starts like a head (`[yyyy-`) but did
// not parse as one (the caller saw it is not a record start).
func looksLikeHead(line string) bool {
	if len(line) < 6 || line[0] != '[' || line[5] != '-' {
		return false
	}
	_, ok := digits(line, 1, 4)
	return ok
}
