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
	rec.Raw = strings.TrimRight(s, "\r\n")
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
	for i := from; i < to; {
		j := strings.IndexByte(s[i:to], '|')
		last := j < 0
		if last {
			j = to
		} else {
			j += i
		}
		colon := keyColon(s[i:j])
		if colon >= 0 {
			colon += i
		}
		if colon >= 0 {
			key, val := trim(s[i:colon]), trim(s[colon+1:j])
			if rec.setField(key, val) {
				known = true
				i = j + 1
				continue
			}
			if !last && isIdent(key) {
				if rec.Extra == nil {
					rec.Extra = make(map[string]string, 1)
				}
				rec.Extra[key] = val
				i = j + 1
				continue
			}
		}
		if last || trim(s[i:j]) != "" {
			p.operation(rec, s, i, to)
			break
		}
		i = j + 1
	}
	if !known {
		rec.Malformed = append(rec.Malformed, cleanMalformed(s[:to]))
	}
}

// keyColon returns the index of the `:` ending a field name at the start of
// piece, or -1. Field names are short words, so only a few bytes are looked
// at rather than the whole piece.
func keyColon(piece string) int {
	const maxKey = 24
	n := min(len(piece), maxKey)
	for k := 0; k < n; k++ {
		if piece[k] == ':' {
			return k
		}
	}
	return -1
}

// trim removes ASCII spaces and tabs (all the trace format pads with).
func trim(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
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
// line (`SandboxHost.AuthenticateCaller >Access Denied…`). Each marker counts
// only at the start or after whitespace, so generic method names such as
// `<Run>b__0` or `<>c` are not cut.
// nextWordStart returns the index after the next space or tab past i, or
// len(s) when there is none.
func nextWordStart(s string, i int) int {
	for j := i; j < len(s); j++ {
		if s[j] == ' ' || s[j] == '\t' {
			return j + 1
		}
	}
	return len(s)
}

func (p *parser) operation(rec *Record, s string, from, to int) {
	op := s[from:to]
	msg, file, line, il := -1, -1, -1, -1
	// Only a marker at the start or after white space counts; jump from one
	// white-space character to the next instead of looking at every byte.
	for i := 0; i < len(op); i = nextWordStart(op, i) {
		switch c := op[i]; {
		case c == '>':
			msg = i
		case c == 'F' && file < 0 && strings.HasPrefix(op[i:], "File:"):
			file = i
		case c == 'L' && line < 0 && strings.HasPrefix(op[i:], "Line:"):
			line = i
		case c == 'i' && il < 0 && strings.HasPrefix(op[i:], "ilOffset"):
			il = i
		}
		if msg >= 0 {
			break
		}
	}
	if msg >= 0 {
		p.msg = append(p.msg, span{from + msg + 1, to})
		op = op[:msg]
	}
	if line >= 0 && line < len(op) {
		rec.Line = trim(op[line+len("Line:"):])
		op = op[:line]
	}
	if file >= 0 && file < len(op) {
		rec.File = trim(op[file+len("File:"):])
		op = op[:file]
	}
	if il >= 0 && il < len(op) {
		v := trim(op[il+len("ilOffset"):])
		if len(v) > 0 && v[0] == '=' {
			v = trim(v[1:])
		}
		rec.ILOffset = v
		op = op[:il]
	}
	rec.Operation = trim(op)
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
