// Package tracing reads the Dynamics CRM platform trace-file format: the `#`
// header block, record heads (`[timestamp] Process: … |Level: … | Operation`),
// call-stack lines, `>` messages and embedded "MSCRM Error Report" bodies, and
// the trace file names. It is the one parser every crmwatch component uses
// (the offline `crmwatch trace` commands, the tailer, the agent collector).
//
// The grammar and every variant handled come from real trace lines quoted in
// the project's CRM domain reference (§2): CRM 4.0 heads with one fractional
// digit and no ReqId, CRLF line ends, `Process:w3wp` without a space, padded or
// unmanaged thread ids, empty ReqIds, CRM 2016 ActivityIds, Outlook and
// unmanaged (`File:`/`Line:`) lines and messages on the head line.
//
// Parsing is hand-written byte scanning (no regexp on the hot path) because
// trace files of a busy farm run to gigabytes; see docs/performance.md.
package tracing

import (
	"strings"
	"time"

	"crmwatch/event"
)

// Record is one trace record: a head line and every line up to the next head.
// String fields hold the text as written, trimmed of surrounding spaces.
type Record struct {
	Time         time.Time `json:"time"`
	Process      string    `json:"process,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Thread       string    `json:"thread,omitempty"`
	Category     string    `json:"category,omitempty"`
	User         string    `json:"user,omitempty"`
	// Level as written: Error, Warning, Info or Verbose in every real file.
	Level      string `json:"level,omitempty"`
	ReqID      string `json:"req_id,omitempty"`
	ActivityID string `json:"activity_id,omitempty"`
	// Operation is the Class.Method that wrote the record, without the
	// `ilOffset = 0x..` suffix (kept in ILOffset) and the File/Line fragments
	// of unmanaged lines (kept in File and Line).
	Operation string `json:"operation,omitempty"`
	ILOffset  string `json:"il_offset,omitempty"`
	File      string `json:"file,omitempty"`
	Line      string `json:"line,omitempty"`
	// Message is the text after `>` (on the head line or the following
	// lines) with continuation lines joined by "\n".
	Message     string       `json:"message,omitempty"`
	CallStack   []string     `json:"call_stack,omitempty"`
	ErrorReport *ErrorReport `json:"error_report,omitempty"`
	// Extra holds `Key: value` head fields this parser does not know, so a
	// newer CRM version's field is kept rather than lost.
	Extra map[string]string `json:"extra,omitempty"`
	// Malformed holds the lines of this record that fit no part of the
	// grammar (a corrupt head, NUL-filled lines left by a crashed writer).
	Malformed []string `json:"malformed,omitempty"`
	// Offset is the byte offset of the head line in its stream; LineNo its
	// 1-based line number.
	Offset int64 `json:"offset"`
	LineNo int64 `json:"line_no"`
	// Raw is the record's text as read (line ends normalised to LF, no
	// final newline); grep prints it. It shares memory with the fields.
	Raw string `json:"-"`
	// Truncated is set when the record exceeded the reader's size cap and
	// its tail was dropped.
	Truncated bool `json:"truncated,omitempty"`
}

// ErrorReport is the "MSCRM Error Report:" body CRM 3.0/4.0 write into the
// message of an error record (and show on error pages).
type ErrorReport struct {
	Error        string `json:"error,omitempty"`
	ErrorNumber  string `json:"error_number,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	ErrorDetails string `json:"error_details,omitempty"`
	SourceFile   string `json:"source_file,omitempty"`
	LineNumber   string `json:"line_number,omitempty"`
	RequestURL   string `json:"request_url,omitempty"`
	StackTrace   string `json:"stack_trace,omitempty"`
}

// reset clears r for reuse, keeping the capacity of its slices.
func (r *Record) reset() {
	cs, mf := r.CallStack[:0], r.Malformed[:0]
	*r = Record{CallStack: cs, Malformed: mf}
}

// EventLevel maps a trace level as written to the shared event level
// (Error→error, Warning→warning, Info→info, Verbose→verbose). Anything else
// is LevelUnknown: a trace level is never guessed.
func EventLevel(level string) event.Level {
	switch {
	case strings.EqualFold(level, "Error"):
		return event.LevelError
	case strings.EqualFold(level, "Warning"):
		return event.LevelWarning
	case strings.EqualFold(level, "Info"):
		return event.LevelInfo
	case strings.EqualFold(level, "Verbose"):
		return event.LevelVerbose
	}
	return event.LevelUnknown
}

// Event converts the record to the shared Event contract. The caller sets
// Origin (collector, file, fingerprint, offset).
func (r *Record) Event(host, role string) event.Event {
	ev := event.Event{
		Time:         r.Time,
		Host:         host,
		Role:         role,
		Source:       event.SourceTrace,
		Level:        EventLevel(r.Level),
		Organization: r.Organization,
		Category:     r.Category,
		Process:      r.Process,
		RequestID:    r.ReqID,
		Message:      r.Message,
	}
	f := make(map[string]string, 8)
	put := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	put("thread", r.Thread)
	put("user", r.User)
	put("activity_id", r.ActivityID)
	put("operation", r.Operation)
	put("il_offset", r.ILOffset)
	put("file", r.File)
	put("line", r.Line)
	if len(r.CallStack) > 0 {
		f["call_stack"] = strings.Join(r.CallStack, "\n")
	}
	if len(r.Malformed) > 0 {
		f["malformed"] = strings.Join(r.Malformed, "\n")
	}
	for k, v := range r.Extra {
		put("extra."+k, v)
	}
	if e := r.ErrorReport; e != nil {
		put("error", e.Error)
		put("error_number", e.ErrorNumber)
		put("error_message", e.ErrorMessage)
		put("error_details", e.ErrorDetails)
		put("source_file", e.SourceFile)
		put("line_number", e.LineNumber)
		put("request_url", e.RequestURL)
		put("stack_trace", e.StackTrace)
	}
	if r.Truncated {
		f["truncated"] = "true"
	}
	if len(f) > 0 {
		ev.Fields = f
	}
	return ev
}
