// Package otlp exports CRM trace records as OpenTelemetry data over
// OTLP/HTTP protobuf: one log record per trace record (POST /v1/logs) and
// one span per CRM request id (POST /v1/traces) spanning its first to last
// record, with the records as span events. Trace and span ids derive from
// the ReqId GUID, so logs and spans of a request correlate in any backend
// and a re-export produces the same ids.
//
// The Exporter is a streaming API (Add, Flush, Close) so the agent's trace
// collector can use it as well as `crmwatch trace export`.
package otlp

import (
	"crypto/sha256"
	"hash/fnv"
	"strconv"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"crmwatch/event"
	"crmwatch/tracing"
)

// Attribute names. Semantic-convention names are used where one exists
// (process.executable.name, thread.id, enduser.id, code.*, exception.*);
// CRM concepts without one live under crm.*.
const (
	AttrHost           = "host.name"
	AttrServiceName    = "service.name"
	AttrServerRole     = "crm.server.role"
	AttrCRMVersion     = "crm.version"
	AttrDeploymentType = "crm.deployment.type"
	AttrOrganization   = "crm.organization.id"
	AttrCategory       = "crm.trace.category"
	AttrLevel          = "crm.trace.level"
	AttrProcess        = "process.executable.name"
	AttrThreadID       = "thread.id"
	AttrThread         = "crm.trace.thread" // when the thread is not a number (0832, 7(MSCRM:…))
	AttrUser           = "enduser.id"
	AttrRequestID      = "crm.request.id"
	AttrActivityID     = "crm.activity.id"
	AttrFunction       = "code.function.name"
	AttrFile           = "code.file.path"
	AttrLine           = "code.line.number"
	AttrStacktrace     = "code.stacktrace"
	AttrExcMessage     = "exception.message"
	AttrExcStacktrace  = "exception.stacktrace"
	AttrErrorNumber    = "crm.error.number"
	AttrRequestURL     = "url.full"
	AttrMalformed      = "crm.trace.malformed"
)

// Severity maps a CRM trace level to the OTLP severity number; Verbose is
// DEBUG (CRM has no level below it).
func Severity(level string) logspb.SeverityNumber {
	switch tracing.EventLevel(level) {
	case event.LevelError:
		return logspb.SeverityNumber_SEVERITY_NUMBER_ERROR
	case event.LevelWarning:
		return logspb.SeverityNumber_SEVERITY_NUMBER_WARN
	case event.LevelInfo:
		return logspb.SeverityNumber_SEVERITY_NUMBER_INFO
	case event.LevelVerbose:
		return logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG
	}
	return logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED
}

// TraceID derives the 16-byte trace id of a request: the GUID's own bytes,
// or for an id that is not a GUID the first 16 bytes of its SHA-256.
func TraceID(reqID string) []byte {
	if b, ok := guidBytes(reqID); ok {
		return b
	}
	h := sha256.Sum256([]byte(reqID))
	return h[:16]
}

// SpanID derives the request span's 8-byte id from its trace id (FNV-64a,
// never all zero as OTLP requires).
func SpanID(traceID []byte) []byte {
	h := fnv.New64a()
	h.Write(traceID)
	v := h.Sum64()
	if v == 0 {
		v = 1
	}
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}

func guidBytes(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	out := make([]byte, 0, 16)
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		v, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		out = append(out, byte(v))
		i += 2
	}
	return out, true
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

// attrs builds the attributes of a record (skipping empty values).
func attrs(rec *tracing.Record) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, 12)
	add := func(k, v string) {
		if v != "" {
			out = append(out, str(k, v))
		}
	}
	add(AttrOrganization, rec.Organization)
	add(AttrCategory, rec.Category)
	add(AttrProcess, rec.Process)
	if id, err := strconv.ParseInt(rec.Thread, 10, 64); err == nil && (len(rec.Thread) < 2 || rec.Thread[0] != '0') {
		out = append(out, num(AttrThreadID, id))
	} else {
		add(AttrThread, rec.Thread)
	}
	add(AttrUser, rec.User)
	add(AttrRequestID, rec.ReqID)
	add(AttrActivityID, rec.ActivityID)
	add(AttrFunction, rec.Operation)
	add(AttrFile, rec.File)
	if n, err := strconv.ParseInt(rec.Line, 10, 64); err == nil {
		out = append(out, num(AttrLine, n))
	}
	if len(rec.CallStack) > 0 {
		add(AttrStacktrace, joinLines(rec.CallStack))
	}
	if len(rec.Malformed) > 0 {
		add(AttrMalformed, joinLines(rec.Malformed))
	}
	if e := rec.ErrorReport; e != nil {
		msg := e.ErrorMessage
		if msg == "" {
			msg = e.Error
		}
		add(AttrExcMessage, msg)
		add(AttrErrorNumber, e.ErrorNumber)
		add(AttrExcStacktrace, e.StackTrace)
		add(AttrRequestURL, e.RequestURL)
	}
	return out
}

func joinLines(lines []string) string {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	b := make([]byte, 0, n)
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
	}
	return string(b)
}

// logRecord converts one trace record.
func logRecord(rec *tracing.Record) *logspb.LogRecord {
	lr := &logspb.LogRecord{
		TimeUnixNano:   uint64(rec.Time.UnixNano()),
		SeverityNumber: Severity(rec.Level),
		SeverityText:   rec.Level,
		Body:           &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: rec.Message}},
		Attributes:     attrs(rec),
	}
	if rec.ReqID != "" {
		lr.TraceId = TraceID(rec.ReqID)
		lr.SpanId = SpanID(lr.TraceId)
	}
	return lr
}
