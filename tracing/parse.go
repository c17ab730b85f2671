package tracing

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotRecordHead is returned by ParseRecord when the first line is not a
// record head; the lines are still returned as the record's Malformed lines.
var ErrNotRecordHead = errors.New("first line is not a record head ([yyyy-MM-dd HH:mm:ss…])")

// ParseRecord parses one complete record (its head line and every following
// line up to the next head). Lines may end in LF or CRLF and the last line
// may lack a line ending. It never panics: text that fits nothing is kept in
// Record.Malformed. Timestamps carry no zone in trace files and are returned
// in UTC; use a Reader with a Location for server-local time.
func ParseRecord(b []byte) (Record, error) {
	var rec Record
	var p parser
	err := p.parse(&rec, string(b), time.UTC)
	return rec, err
}

// parser holds scratch state reused across records so the hot path does not
// allocate beyond the record's own text.
type parser struct {
	msg []span // message pieces as offsets into the record text
}

type span struct{ from, to int }

// parse fills rec (already reset) from the record text s.
func (p *parser) parse(rec *Record, s string, loc *time.Location) error {
	head, rest := cutLine(s)
	t, n, ok := parseStamp(head, loc)
	if !ok {
		rec.Malformed = append(rec.Malformed, cleanMalformed(head))
		for rest != "" {
			var l string
			l, rest = cutLine(rest)
			if strings.TrimSpace(l) != "" {
				rec.Malformed = append(rec.Malformed, cleanMalformed(l))
			}
		}
		return fmt.Errorf("trace record: %w: %q", ErrNotRecordHead, clip(head, 80))
	}
	rec.Time = t
	p.msg = p.msg[:0]
	p.head(rec, s, n, len(head))
	p.body(rec, s, len(s)-len(rest))
	p.joinMessage(rec, s)
	if strings.Contains(rec.Message, errorReportMarker) {
		rec.ErrorReport = parseErrorReport(rec.Message)
	}
	return nil
}

// head parses the `|`-separated fields of the head line s[from:to]. Known
// `Key: value` pieces are assigned wherever they appear; the first other
// piece starts the operation, which runs to the end of the line (so a `|`
// in a head-line message is kept).
func (p *parser) head(rec *Record, s string, from, to int) {
	known := false
	i := from
	for i < to {
		end := strings.IndexByte(s[i:to], '|')
		last := end < 0
		if last {
			end = to
		} else {
			end += i
		}
		piece := s[i:end]
		key, val, hasColon := strings.Cut(piece, ":")
		key = strings.TrimSpace(key)
		if hasColon && rec.setField(key, strings.TrimSpace(val)) {
			known = true
		} else if hasColon && !last && isIdent(key) {
			if rec.Extra == nil {
				rec.Extra = make(map[string]string, 1)
			}
			rec.Extra[key] = strings.TrimSpace(val)
		} else if strings.TrimSpace(piece) != "" || last {
			p.operation(rec, s, i, to)
			break
		}
		i = end + 1
	}
	if !known {
		rec.Malformed = append(rec.Malformed, cleanMalformed(s[:to]))
	}
}

// setField assigns a known head field and reports whether key was one.
func (r *Record) setField(key, val string) bool {
	switch key {
	case "Process":
		r.Process = val
	case "Organization":
		r.Organization = val
	case "Thread":
		r.Thread = val
	case "Category":
		r.Category = val
	case "User":
		r.User = val
	case "Level":
		r.Level = val
	case "ReqId", "ReqID":
		r.ReqID = val
	case "ActivityId", "ActivityID":
		r.ActivityID = val
	default:
		return false
	}
	return true
}

// operation parses `Class.Method  ilOffset = 0x41`, the unmanaged
// `HrGetXmlDOM File: c:\… Line: 12`, and a message after `>` on the head
// line (`SandboxHost.AuthenticateCaller >Access Denied…`).
func (p *parser) operation(rec *Record, s string, from, to int) {
	op := s[from:to]
	if k := messageMark(op); k >= 0 {
		p.msg = append(p.msg, span{from + k + 1, to})
		op = op[:k]
	}
	if k := fragment(op, "Line:"); k >= 0 {
		rec.Line = strings.TrimSpace(op[k+len("Line:"):])
		op = op[:k]
	}
	if k := fragment(op, "File:"); k >= 0 {
		rec.File = strings.TrimSpace(op[k+len("File:"):])
		op = op[:k]
	}
	if k := fragment(op, "ilOffset"); k >= 0 {
		v := strings.TrimSpace(op[k+len("ilOffset"):])
		rec.ILOffset = strings.TrimSpace(strings.TrimPrefix(v, "="))
		op = op[:k]
	}
	rec.Operation = strings.TrimSpace(op)
}

// messageMark finds the `>` that starts a head-line message: at the start of
// the operation or after a space, so generic names such as `<Foo>b__0` or
// `<>c` inside the method name are not cut.
func messageMark(op string) int {
	for i := 0; i < len(op); i++ {
		if op[i] == '>' && (i == 0 || op[i-1] == ' ' || op[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// fragment finds word at the start of op or after whitespace.
func fragment(op, word string) int {
	for off := 0; ; {
		k := strings.Index(op[off:], word)
		if k < 0 {
			return -1
		}
		k += off
		if k == 0 || op[k-1] == ' ' || op[k-1] == '\t' {
			return k
		}
		off = k + 1
	}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// cutLine splits s at the first LF; the returned line has no LF or CR.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		line = s
	} else {
		line, rest = s[:i], s[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// cleanMalformed keeps a malformed line readable: NUL runs (left by a
// writer that crashed after pre-extending the file) are removed.
func cleanMalformed(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	n := strings.Count(s, "\x00")
	c := strings.ReplaceAll(s, "\x00", "")
	return fmt.Sprintf("%s<%d NUL bytes>", c, n)
}
