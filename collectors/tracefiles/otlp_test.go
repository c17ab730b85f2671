package tracefiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"crmwatch/collectors"
	"crmwatch/tracing/otlp"
)

// otlpReceiver is an in-process OTLP/HTTP receiver that decodes requests
// with the official protobuf types.
type otlpReceiver struct {
	down    atomic.Bool // answer 503 while set
	mu      sync.Mutex
	logs    []*logspb.ResourceLogs
	spans   []*tracepb.Span
	apiKeys []string
}

func (rv *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rv.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf body", http.StatusUnsupportedMediaType)
		return
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.apiKeys = append(rv.apiKeys, r.Header.Get("X-Api-Key"))
	var resp proto.Message
	switch r.URL.Path {
	case "/v1/logs":
		m := &collogspb.ExportLogsServiceRequest{}
		if err := proto.Unmarshal(data, m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rv.logs = append(rv.logs, m.ResourceLogs...)
		resp = &collogspb.ExportLogsServiceResponse{}
	case "/v1/traces":
		m := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(data, m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range m.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rv.spans = append(rv.spans, ss.Spans...)
			}
		}
		resp = &coltracepb.ExportTraceServiceResponse{}
	default:
		http.NotFound(w, r)
		return
	}
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// logRecords flattens what arrived, each with its resource's attributes.
func (rv *otlpReceiver) logRecords() ([]*logspb.LogRecord, []map[string]string) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var recs []*logspb.LogRecord
	var res []map[string]string
	for _, rl := range rv.logs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				recs = append(recs, lr)
				res = append(res, attrMap(rl.Resource.GetAttributes()))
			}
		}
	}
	return recs, res
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = fmt.Sprint(v.IntValue)
		}
	}
	return m
}

// started is a collector running over a trace folder.
type started struct {
	reg    *prometheus.Registry
	sink   *countingSink
	cancel context.CancelFunc
	done   chan error
}

// start runs the collector over dir with fast polling and a JSON logger.
func start(t *testing.T, cfg *Config, dir string, logs io.Writer) *started {
	t.Helper()
	withDirs(cfg, dir)
	s := &started{reg: prometheus.NewRegistry(), sink: &countingSink{}, done: make(chan error, 1)}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "agent-host", Registerer: s.reg, StateDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	go func() { s.done <- c.Run(ctx, s.sink) }()
	return s
}

// stop cancels the collector and returns how long Run took to return.
func (s *started) stop(t *testing.T) time.Duration {
	t.Helper()
	begin := time.Now()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of cancellation")
	}
	return time.Since(begin)
}

func (s *started) waitSink(t *testing.T, want int, within time.Duration) {
	t.Helper()
	eventually(t, within, fmt.Sprintf("%d events at the sink", want), func() bool { return len(s.sink.snapshot()) >= want })
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

func copySample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sample), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

const apiKey = "k3y-never-printed"

// TestOTLPExportBesideSink tails the sample trace with warnings and errors
// going to the sink and every record (verbose) to a live OTLP receiver.
func TestOTLPExportBesideSink(t *testing.T) {
	rv := &otlpReceiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.OTLP.Endpoint, cfg.OTLP.MinLevel, cfg.OTLP.FlushInterval = srv.URL, "verbose", 100*time.Millisecond
	cfg.OTLP.Headers = map[string]otlp.Secret{"X-Api-Key": apiKey}
	var logs bytes.Buffer
	s := start(t, cfg, copySample(t), &logs)
	s.waitSink(t, 3, 10*time.Second)
	eventually(t, 10*time.Second, "5 log records at the receiver", func() bool { recs, _ := rv.logRecords(); return len(recs) == 5 })
	s.stop(t) // Close sends the request spans still open

	if evs := s.sink.snapshot(); len(evs) != 3 {
		t.Errorf("sink got %d events, want the 3 warnings and errors", len(evs))
	}
	recs, res := rv.logRecords()
	wantSev := []logspb.SeverityNumber{5, 17, 13, 9, 17} // DEBUG ERROR WARN INFO ERROR
	wantReq := []string{"5d3a7b8e-0000-0000-0000-000000000001", "5d3a7b8e-0000-0000-0000-000000000002", "", "", "5d3a7b8e-0000-0000-0000-000000000003"}
	first := time.Date(2024, 5, 1, 10, 0, 1, 530e6, time.Local)
	for i, lr := range recs {
		a := attrMap(lr.Attributes)
		if lr.SeverityNumber != wantSev[i] || a[otlp.AttrRequestID] != wantReq[i] || a[otlp.AttrProcess] == "" || a[otlp.AttrCategory] == "" {
			t.Errorf("log %d: severity %v, attrs %v; want severity %v, request %q", i, lr.SeverityNumber, a, wantSev[i], wantReq[i])
		}
		if res[i][otlp.AttrHost] != "CRM02" || res[i][otlp.AttrServerRole] != "AppServer, AsyncService" || res[i][otlp.AttrCRMVersion] != "5.0.9690.3448" {
			t.Errorf("log %d resource %v, want the file header's host, role and CRM version", i, res[i])
		}
	}
	if len(recs) > 0 && recs[0].TimeUnixNano != uint64(first.UnixNano()) {
		t.Errorf("first log at %v, want %v (trace stamps are server-local)", time.Unix(0, int64(recs[0].TimeUnixNano)), first)
	}
	rv.mu.Lock()
	spans := map[string]*tracepb.Span{}
	for _, sp := range rv.spans {
		spans[string(sp.TraceId)] = sp
	}
	keys := rv.apiKeys
	rv.mu.Unlock()
	for _, id := range []string{wantReq[0], wantReq[1], wantReq[4]} {
		if sp := spans[string(otlp.TraceID(id))]; sp == nil || attrMap(sp.Attributes)[otlp.AttrRequestID] != id {
			t.Errorf("no span for request %s", id)
		}
	}
	if len(spans) != 3 {
		t.Errorf("%d spans, want one per request id (3)", len(spans))
	}
	for _, k := range keys {
		if k != apiKey {
			t.Errorf("request carried X-Api-Key %q", k)
		}
	}
	for name, want := range map[string]float64{"logs": 5, "spans": 3} {
		if got := metric(t, s.reg, "crmwatch_tracefiles_otlp_exported_total", name); got != want {
			t.Errorf("exported %s = %v, want %v", name, got, want)
		}
	}
	if got := metric(t, s.reg, "crmwatch_tracefiles_otlp_dropped_total", dropQueueFull); got != 0 {
		t.Errorf("dropped = %v, want 0", got)
	}
	if strings.Contains(logs.String(), apiKey) {
		t.Errorf("the API key leaked into the log:\n%s", logs.String())
	}
}

// writeRecords writes a trace file of n verbose records, one request each.
func writeRecords(t *testing.T, dir string, n int) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# CRM Tracing Version 5.0.9690.3448\r\n# ComputerName: CRM03\r\n# ServerRole: AppServer\r\n")
	for i := range n {
		fmt.Fprintf(&b, "[2024-05-01 10:%02d:%02d.%03d] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread: 25 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Verbose |ReqId: 5d3a7b8e-0000-0000-0000-%012d | CrmDbConnection.InternalExecuteReader ilOffset = 0x16\r\n>exec p_Record %d\r\n",
			i/60000%60, i/1000%60, i%1000, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "CRM03-w3wp-CRMWeb-20240501-1.log"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hangingReceiver accepts connections and never answers until closed.
func hangingReceiver(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

// refusingEndpoint is an address nothing listens on.
func refusingEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// TestDeadOTLPEndpointDoesNotHoldUpTheSink: with a receiver that refuses
// connections or never answers, every record still reaches the sink at
// tailing speed, records beyond the queue are dropped and counted, the
// failure is logged once, and the collector stops within the shutdown
// timeout.
func TestDeadOTLPEndpointDoesNotHoldUpTheSink(t *testing.T) {
	const n = 3000
	for _, tc := range []struct {
		name     string
		endpoint func(*testing.T) string
	}{
		{"connection refused", refusingEndpoint},
		{"receiver never answers", hangingReceiver},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MinLevel = "verbose"
			cfg.OTLP.Endpoint = tc.endpoint(t)
			cfg.OTLP.Headers = map[string]otlp.Secret{"X-Api-Key": apiKey}
			cfg.OTLP.QueueSize, cfg.OTLP.BatchSize = 100, 10
			cfg.OTLP.Timeout, cfg.OTLP.FlushInterval, cfg.OTLP.ShutdownTimeout = time.Minute, 100*time.Millisecond, 300*time.Millisecond
			dir := t.TempDir()
			writeRecords(t, dir, n)
			var logs bytes.Buffer
			s := start(t, cfg, dir, &logs)
			// A sink held up by the export would need at least one request
			// timeout (1 min) or n/10 retry rounds (≥ 0.75 s each).
			s.waitSink(t, n, 20*time.Second)
			if took := s.stop(t); took > 5*time.Second {
				t.Errorf("stop took %v, want about shutdown_timeout (300ms)", took)
			}
			if got := len(s.sink.snapshot()); got != n {
				t.Errorf("sink got %d events, want %d", got, n)
			}
			full := metric(t, s.reg, "crmwatch_tracefiles_otlp_dropped_total", dropQueueFull)
			shut := metric(t, s.reg, "crmwatch_tracefiles_otlp_dropped_total", dropShutdown)
			if full == 0 || full+shut != n {
				t.Errorf("dropped queue_full %v + shutdown %v, want > 0 and every one of the %d records", full, shut, n)
			}
			if got := metric(t, s.reg, "crmwatch_tracefiles_otlp_exported_total", "logs"); got != 0 {
				t.Errorf("exported %v logs to a dead endpoint", got)
			}
			out := logs.String()
			if c := strings.Count(out, "OTLP export failing"); c != 1 {
				t.Errorf("failure logged %d times, want once per state change:\n%s", c, out)
			}
			if strings.Contains(out, apiKey) {
				t.Errorf("the API key leaked into the log:\n%s", out)
			}
		})
	}
}

// TestOTLPOutageIsLoggedOnceAndRecovers: a receiver that answers 503 for a
// while gets the queued records once it is back; the outage is logged once
// when it starts and once when it ends, whatever the number of attempts.
func TestOTLPOutageIsLoggedOnceAndRecovers(t *testing.T) {
	rv := &otlpReceiver{}
	rv.down.Store(true)
	srv := httptest.NewServer(rv)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.OTLP.Endpoint, cfg.OTLP.MinLevel, cfg.OTLP.FlushInterval = srv.URL, "verbose", 100*time.Millisecond
	var logs bytes.Buffer
	s := start(t, cfg, copySample(t), &logs)
	s.waitSink(t, 3, 10*time.Second)
	eventually(t, 10*time.Second, "two failed export attempts", func() bool {
		return metric(t, s.reg, "crmwatch_tracefiles_otlp_export_errors_total", "") >= 2
	})
	rv.down.Store(false)
	eventually(t, 10*time.Second, "the 5 queued records at the receiver", func() bool { recs, _ := rv.logRecords(); return len(recs) == 5 })
	s.stop(t)
	out := logs.String()
	if f, r := strings.Count(out, "OTLP export failing"), strings.Count(out, "OTLP export recovered"); f != 1 || r != 1 {
		t.Errorf("logged failing %d and recovered %d times, want once each:\n%s", f, r, out)
	}
	if got := metric(t, s.reg, "crmwatch_tracefiles_otlp_dropped_total", dropQueueFull); got != 0 {
		t.Errorf("dropped %v records during a short outage, want 0 (the queue holds them)", got)
	}
}
