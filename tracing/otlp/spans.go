package otlp

import (
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"crmwatch/tracing"
)

// spanSet holds the open request spans. Strings kept here are cloned: they
// outlive the reader's text arena chunk.
type spanSet struct {
	opts   Options
	open   map[string]*openSpan
	idle   []*openSpan // evicted early, sent with the next finish
	latest time.Time   // newest record time seen (trace time drives idleness)
}

type openSpan struct {
	res         resKey
	span        *tracepb.Span
	first, last time.Time
	failed      bool
}

func newSpanSet(o Options) *spanSet { return &spanSet{opts: o, open: map[string]*openSpan{}} }

func (s *spanSet) add(res resKey, rec *tracing.Record) {
	if rec.Time.After(s.latest) {
		s.latest = rec.Time
	}
	sp, ok := s.open[rec.ReqID]
	if !ok {
		if len(s.open) >= s.opts.MaxOpenSpans {
			s.evictOldest()
		}
		id := strings.Clone(rec.ReqID)
		tid := TraceID(id)
		sp = &openSpan{res: res, first: rec.Time, last: rec.Time, span: &tracepb.Span{
			TraceId: tid,
			SpanId:  SpanID(tid),
			Name:    spanName(rec),
			Kind:    tracepb.Span_SPAN_KIND_SERVER,
			Attributes: nonEmpty(
				str(AttrRequestID, id),
				str(AttrOrganization, strings.Clone(rec.Organization)),
				str(AttrProcess, strings.Clone(rec.Process)),
			),
		}}
		s.open[id] = sp
	}
	if rec.Time.Before(sp.first) {
		sp.first = rec.Time
	}
	if rec.Time.After(sp.last) {
		sp.last = rec.Time
	}
	if tracing.EventLevel(rec.Level) >= 4 && !sp.failed { // error
		sp.failed = true
		sp.span.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: strings.Clone(firstLine(rec.Message))}
	}
	if len(sp.span.Events) >= s.opts.MaxSpanEvents {
		sp.span.DroppedEventsCount++
		return
	}
	sp.span.Events = append(sp.span.Events, &tracepb.Span_Event{
		TimeUnixNano: uint64(rec.Time.UnixNano()),
		Name:         cloneOr(rec.Operation, "trace record"),
		Attributes: nonEmpty(
			str(AttrLevel, strings.Clone(rec.Level)),
			str(AttrCategory, strings.Clone(rec.Category)),
			str("message", clip(rec.Message, 4096)),
		),
	})
}

func spanName(rec *tracing.Record) string {
	return cloneOr(rec.Operation, "CRM request")
}

func cloneOr(s, def string) string {
	if s == "" {
		return def
	}
	return strings.Clone(s)
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Clone(s)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func nonEmpty(kvs ...*commonpb.KeyValue) []*commonpb.KeyValue {
	out := kvs[:0]
	for _, kv := range kvs {
		if kv.GetValue().GetStringValue() != "" {
			out = append(out, kv)
		}
	}
	return out
}

func (s *spanSet) evictOldest() {
	var oldest string
	var at time.Time
	for id, sp := range s.open {
		if oldest == "" || sp.last.Before(at) {
			oldest, at = id, sp.last
		}
	}
	s.idle = append(s.idle, s.open[oldest])
	delete(s.open, oldest)
}

// finish removes and returns the spans that are done: idle for SpanIdle in
// trace time, evicted, or all of them.
func (s *spanSet) finish(all bool) map[resKey][]*tracepb.Span {
	out := map[resKey][]*tracepb.Span{}
	for _, sp := range s.idle {
		out[sp.res] = append(out[sp.res], sp.done())
	}
	s.idle = nil
	for id, sp := range s.open {
		if all || s.latest.Sub(sp.last) >= s.opts.SpanIdle {
			out[sp.res] = append(out[sp.res], sp.done())
			delete(s.open, id)
		}
	}
	return out
}

func (sp *openSpan) done() *tracepb.Span {
	sp.span.StartTimeUnixNano = uint64(sp.first.UnixNano())
	sp.span.EndTimeUnixNano = uint64(sp.last.UnixNano())
	if !sp.failed {
		sp.span.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_UNSET}
	}
	return sp.span
}
