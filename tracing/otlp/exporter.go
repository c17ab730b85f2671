package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"crmwatch/tracing"
)

// Header is an HTTP header sent with every request (an API key, a tenant
// id). Its value never appears in errors, logs or String.
type Header struct {
	Name  string
	Value Secret
}

// Secret is a header value that never prints.
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v as well.
func (Secret) GoString() string { return "[redacted]" }

// Options configure an Exporter; zero fields take the defaults.
type Options struct {
	// Endpoint is the OTLP/HTTP base URL (http://collector:4318); logs go
	// to Endpoint/v1/logs and spans to Endpoint/v1/traces.
	Endpoint string
	Headers  []Header
	Client   *http.Client // default: DefaultTimeout per request
	// BatchSize is the log records per request (default 512).
	BatchSize int
	Gzip      bool
	// MaxRetries on 429/502/503/504 and network errors after the first
	// attempt (0: DefaultMaxRetries; negative: none), with exponential
	// backoff from Backoff (default DefaultBackoff, at most 30 s) or the
	// server's Retry-After.
	MaxRetries int
	Backoff    time.Duration
	// OnRetry, when set, is told about every failed attempt that will be
	// retried, before the wait (progress for a command line).
	OnRetry func(Retry)
	// ServiceName is the service.name resource attribute (default
	// "crmwatch"); with ServiceFromProcess the record's process is used.
	ServiceName        string
	ServiceFromProcess bool
	// SpanIdle finishes a request span once no record of it was seen for
	// this long in trace time (default 2 min); Close finishes all.
	SpanIdle time.Duration
	// MaxOpenSpans bounds the requests held open (default 10,000); beyond
	// it the least recently seen is finished early. MaxSpanEvents caps the
	// events per span (default 256; the rest are counted as dropped).
	MaxOpenSpans  int
	MaxSpanEvents int
}

// Defaults of the request policy: a dead receiver costs a few seconds, not
// half a minute (Backoff, then twice Backoff, between the attempts).
const (
	DefaultMaxRetries = 2
	DefaultBackoff    = 500 * time.Millisecond
	DefaultTimeout    = 10 * time.Second
)

// Retry describes a failed attempt that will be retried.
type Retry struct {
	URL     string
	Attempt int // 1 for the first retry
	Max     int
	Wait    time.Duration
	Err     error
}

func (o *Options) setDefaults() {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.ServiceName == "" {
		o.ServiceName = "crmwatch"
	}
	if o.SpanIdle <= 0 {
		o.SpanIdle = 2 * time.Minute
	}
	if o.MaxOpenSpans <= 0 {
		o.MaxOpenSpans = 10_000
	}
	if o.MaxSpanEvents <= 0 {
		o.MaxSpanEvents = 256
	}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	u, err := url.Parse(o.Endpoint)
	switch {
	case o.Endpoint == "":
		errs = append(errs, errors.New("otlp: endpoint is empty (want http://host:4318)"))
	case err != nil:
		errs = append(errs, fmt.Errorf("otlp: endpoint: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("otlp: endpoint %q: scheme must be http or https", u.Redacted()))
	}
	for _, h := range o.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, " :\r\n") {
			errs = append(errs, fmt.Errorf("otlp: header name %q is not valid", h.Name))
		}
	}
	return errors.Join(errs...)
}

// Counts is what an Exporter has sent.
type Counts struct {
	Logs, Spans, Requests int64 // requests: HTTP POSTs that succeeded
	RejectedLogs          int64 // reported by the receiver as partial success
	RejectedSpans         int64
}

// Exporter batches records into OTLP requests. It is not safe for
// concurrent use; the agent gives each collector its own.
type Exporter struct {
	opts      Options
	logsURL   string
	tracesURL string
	res       map[resKey]*resBatch
	order     []resKey
	pending   int
	spans     *spanSet
	counts    Counts
}

// New validates opts and returns an Exporter.
func New(opts Options) (*Exporter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	base := strings.TrimRight(opts.Endpoint, "/")
	base = strings.TrimSuffix(strings.TrimSuffix(base, "/v1/logs"), "/v1/traces")
	return &Exporter{opts: opts, logsURL: base + "/v1/logs", tracesURL: base + "/v1/traces",
		res: map[resKey]*resBatch{}, spans: newSpanSet(opts)}, nil
}

// Counts returns what was sent so far.
func (e *Exporter) Counts() Counts { return e.counts }

type resKey struct{ host, role, version, service, deployment string }

type resBatch struct {
	resource *resourcepb.Resource
	logs     []*logspb.LogRecord
}

func (e *Exporter) resourceKey(hdr tracing.Header, rec *tracing.Record) resKey {
	k := resKey{host: hdr.ComputerName, role: hdr.ServerRole, version: hdr.CRMVersion,
		service: e.opts.ServiceName, deployment: hdr.DeploymentType}
	if e.opts.ServiceFromProcess && rec.Process != "" {
		k.service = rec.Process
	}
	return k
}

func (k resKey) resource() *resourcepb.Resource {
	r := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str(AttrServiceName, k.service)}}
	for _, kv := range [][2]string{{AttrHost, k.host}, {AttrServerRole, k.role}, {AttrCRMVersion, k.version}, {AttrDeploymentType, k.deployment}} {
		if kv[1] != "" {
			r.Attributes = append(r.Attributes, str(kv[0], kv[1]))
		}
	}
	return r
}

// Add converts rec (read from a file with header hdr) and sends a batch
// when BatchSize log records are pending. rec may be reused afterwards.
func (e *Exporter) Add(ctx context.Context, hdr tracing.Header, rec *tracing.Record) error {
	k := e.resourceKey(hdr, rec)
	b, ok := e.res[k]
	if !ok {
		b = &resBatch{resource: k.resource()}
		e.res[k] = b
		e.order = append(e.order, k)
	}
	b.logs = append(b.logs, logRecord(rec)) // sent within BatchSize records, so arena strings are not pinned for long
	e.pending++
	if rec.ReqID != "" {
		e.spans.add(k, rec)
	}
	if e.pending >= e.opts.BatchSize {
		return e.flushLogs(ctx)
	}
	return nil
}

// Flush sends pending log records and the spans of requests idle for
// SpanIdle (in trace time).
func (e *Exporter) Flush(ctx context.Context) error {
	if err := e.flushLogs(ctx); err != nil {
		return err
	}
	return e.sendSpans(ctx, e.spans.finish(false))
}

// Close sends everything pending, including every open request span.
func (e *Exporter) Close(ctx context.Context) error {
	if err := e.flushLogs(ctx); err != nil {
		return err
	}
	return e.sendSpans(ctx, e.spans.finish(true))
}

func (e *Exporter) flushLogs(ctx context.Context) error {
	if e.pending == 0 {
		return nil
	}
	req := &collogspb.ExportLogsServiceRequest{}
	for _, k := range e.order {
		b := e.res[k]
		if len(b.logs) == 0 {
			continue
		}
		req.ResourceLogs = append(req.ResourceLogs, &logspb.ResourceLogs{
			Resource:  b.resource,
			ScopeLogs: []*logspb.ScopeLogs{{Scope: scope(), LogRecords: b.logs}},
		})
	}
	var resp collogspb.ExportLogsServiceResponse
	if err := e.post(ctx, e.logsURL, req, &resp); err != nil {
		return err
	}
	e.counts.Logs += int64(e.pending)
	if ps := resp.GetPartialSuccess(); ps != nil {
		e.counts.RejectedLogs += ps.GetRejectedLogRecords()
	}
	for _, k := range e.order {
		e.res[k].logs = nil
	}
	e.pending = 0
	return nil
}

func (e *Exporter) sendSpans(ctx context.Context, done map[resKey][]*tracepb.Span) error {
	if len(done) == 0 {
		return nil
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	n := 0
	for k, spans := range done {
		req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
			Resource:   k.resource(),
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: scope(), Spans: spans}},
		})
		n += len(spans)
	}
	var resp coltracepb.ExportTraceServiceResponse
	if err := e.post(ctx, e.tracesURL, req, &resp); err != nil {
		return err
	}
	e.counts.Spans += int64(n)
	if ps := resp.GetPartialSuccess(); ps != nil {
		e.counts.RejectedSpans += ps.GetRejectedSpans()
	}
	return nil
}

func scope() *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: "crmwatch/tracing/otlp"}
}
