package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"crmwatch/tracing"
)

// receiver is an in-process OTLP/HTTP receiver decoding with the official
// protobuf types.
type receiver struct {
	mu       sync.Mutex
	logs     []*collogspb.ExportLogsServiceRequest
	traces   []*coltracepb.ExportTraceServiceRequest
	failures int // answer 503 this many times first
	status   int // when set, answer every request with it
	gotAuth  []string
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.gotAuth = append(rv.gotAuth, r.Header.Get("Authorization"))
	if rv.status != 0 {
		http.Error(w, "bad payload", rv.status)
		return
	}
	if rv.failures > 0 {
		rv.failures--
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	data, _ := io.ReadAll(body)
	if r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "content type", 415)
		return
	}
	switch r.URL.Path {
	case "/v1/logs":
		m := &collogspb.ExportLogsServiceRequest{}
		if err := proto.Unmarshal(data, m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rv.logs = append(rv.logs, m)
		out, _ := proto.Marshal(&collogspb.ExportLogsServiceResponse{})
		w.Write(out)
	case "/v1/traces":
		m := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(data, m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rv.traces = append(rv.traces, m)
	default:
		http.NotFound(w, r)
	}
}

func readGolden(t *testing.T, name string) (tracing.Header, []tracing.Record) {
	t.Helper()
	f, err := os.Open("../testdata/" + name + "/input.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := tracing.NewReader(f)
	var recs []tracing.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return rd.Header(), recs
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = fmt.Sprint(v.IntValue)
		}
	}
	return m
}

func TestExportLogsAndSpans(t *testing.T) {
	rv := &receiver{failures: 1}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	exp, err := New(Options{Endpoint: srv.URL, Gzip: true, BatchSize: 2, Backoff: time.Millisecond,
		Headers: []Header{{Name: "Authorization", Value: "Bearer s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hdr, recs := readGolden(t, "header-crm2011")
	_, more := readGolden(t, "crm40-error-report-crlf")
	for i := range recs {
		if err := exp.Add(ctx, hdr, &recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// An Error record joining the first request makes its span fail.
	errRec := more[1]
	errRec.ReqID = recs[0].ReqID
	errRec.Time = recs[1].Time.Add(5 * time.Millisecond)
	for _, r := range []*tracing.Record{&more[0], &errRec} {
		if err := exp.Add(ctx, hdr, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := exp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c := exp.Counts()
	if c.Logs != 4 || c.Spans != 1 {
		t.Fatalf("counts = %+v", c)
	}
	var logs []*logspb.LogRecord
	for _, req := range rv.logs {
		for _, rl := range req.ResourceLogs {
			res := attrMap(rl.Resource.Attributes)
			if res[AttrHost] != "CRM02" || res[AttrServiceName] != "crmwatch" || res[AttrCRMVersion] != "5.0.9690.3557" ||
				res[AttrServerRole] != "AppServer, AsyncService, DeploymentService" {
				t.Errorf("resource = %v", res)
			}
			for _, sl := range rl.ScopeLogs {
				logs = append(logs, sl.LogRecords...)
			}
		}
	}
	if len(logs) != 4 {
		t.Fatalf("received %d log records, want 4", len(logs))
	}
	first := attrMap(logs[0].Attributes)
	if logs[0].SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG || logs[0].SeverityText != "Verbose" ||
		first[AttrCategory] != "Platform.Sql" || first[AttrProcess] != "w3wp" || first[AttrThreadID] != "13" ||
		first[AttrRequestID] != "6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e2a11" || first[AttrFunction] != "CrmDbConnection.InternalExecuteReader" ||
		first[AttrOrganization] != "00000000-0000-0000-0000-000000000000" || first[AttrUser] == "" ||
		logs[0].Body.GetStringValue() != "exec p_GetDefaultOrgFromAuthInfo 'W: S-1-5-21-...-500'" {
		t.Errorf("first log = %v attrs %v", logs[0], first)
	}
	if !bytes.Equal(logs[0].TraceId, TraceID(recs[0].ReqID)) || len(logs[0].SpanId) != 8 {
		t.Errorf("log trace/span id = %x/%x", logs[0].TraceId, logs[0].SpanId)
	}
	last := attrMap(logs[3].Attributes)
	if logs[3].SeverityNumber != logspb.SeverityNumber_SEVERITY_NUMBER_ERROR || last[AttrErrorNumber] != "0x80040220" ||
		!strings.Contains(last[AttrExcMessage], "CrmCheckPrivilege") {
		t.Errorf("error log = %v", last)
	}
	var spans []*tracepb.Span
	for _, req := range rv.traces {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}
	if len(spans) != 1 {
		t.Fatalf("spans = %d, want 1", len(spans))
	}
	sp := spans[0]
	wantTrace := []byte{0x6a, 0x3c, 0x2e, 0x90, 0x1f, 0x2b, 0x4c, 0x1e, 0x9d, 0x7a, 0x0b, 0x5f, 0x3c, 0x8e, 0x2a, 0x11}
	if !bytes.Equal(sp.TraceId, wantTrace) || !bytes.Equal(sp.SpanId, logs[0].SpanId) {
		t.Errorf("span ids %x/%x", sp.TraceId, sp.SpanId)
	}
	if sp.StartTimeUnixNano != uint64(recs[0].Time.UnixNano()) || sp.EndTimeUnixNano != uint64(errRec.Time.UnixNano()) {
		t.Errorf("span times %d..%d", sp.StartTimeUnixNano, sp.EndTimeUnixNano)
	}
	if len(sp.Events) != 3 || sp.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || sp.Name != "CrmDbConnection.InternalExecuteReader" {
		t.Errorf("span = %v", sp)
	}
	if attrMap(sp.Events[2].Attributes)[AttrLevel] != "Error" {
		t.Errorf("event attrs = %v", attrMap(sp.Events[2].Attributes))
	}
	for _, a := range rv.gotAuth {
		if a != "Bearer s3cret" {
			t.Errorf("Authorization = %q", a)
		}
	}
}

func TestExportErrorNamesURLNotSecrets(t *testing.T) {
	rv := &receiver{status: http.StatusBadRequest}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	exp, err := New(Options{Endpoint: srv.URL + "/", Backoff: time.Millisecond,
		Headers: []Header{{Name: "X-Api-Key", Value: "topsecret"}}})
	if err != nil {
		t.Fatal(err)
	}
	hdr, recs := readGolden(t, "thread-variants")
	_ = exp.Add(context.Background(), hdr, &recs[0])
	err = exp.Close(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error() + fmt.Sprintf(" %v %+v %#v", exp.opts.Headers, exp.opts.Headers, exp.opts.Headers)
	if !strings.Contains(err.Error(), srv.URL+"/v1/logs") || !strings.Contains(err.Error(), "400") {
		t.Errorf("error %q does not name the URL and status", err)
	}
	if strings.Contains(msg, "topsecret") {
		t.Errorf("secret leaked: %s", msg)
	}
	if len(rv.gotAuth) != 1 {
		t.Errorf("a 400 was retried: %d attempts", len(rv.gotAuth))
	}
}

func TestExportRetriesThenGivesUp(t *testing.T) {
	rv := &receiver{failures: 100}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	exp, _ := New(Options{Endpoint: srv.URL, Backoff: time.Millisecond, MaxRetries: 3})
	hdr, recs := readGolden(t, "thread-variants")
	_ = exp.Add(context.Background(), hdr, &recs[0])
	if err := exp.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	if len(rv.gotAuth) != 4 {
		t.Errorf("attempts = %d, want 1 + 3 retries", len(rv.gotAuth))
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{Endpoint: "ftp://x", Headers: []Header{{Name: "bad name"}}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "scheme") || !strings.Contains(err.Error(), "header name") {
		t.Errorf("Validate = %v", err)
	}
}

func TestSpanIdleAndSeverity(t *testing.T) {
	rv := &receiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	exp, _ := New(Options{Endpoint: srv.URL, SpanIdle: time.Minute})
	ctx := context.Background()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(id string, at time.Duration, level string) {
		rec := tracing.Record{Time: base.Add(at), ReqID: id, Level: level, Operation: "Op"}
		if err := exp.Add(ctx, tracing.Header{}, &rec); err != nil {
			t.Fatal(err)
		}
	}
	add("req-a", 0, "Info")
	add("req-b", 30*time.Second, "Warning")
	add("req-b", 2*time.Minute, "Verbose")
	if err := exp.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c := exp.Counts(); c.Spans != 1 { // req-a idle for 2 min; req-b still open
		t.Fatalf("spans after flush = %d, want 1", c.Spans)
	}
	for level, want := range map[string]logspb.SeverityNumber{"Error": 17, "Warning": 13, "Info": 9, "Verbose": 5, "": 0} {
		if got := Severity(level); got != want {
			t.Errorf("Severity(%q) = %v", level, got)
		}
	}
}
