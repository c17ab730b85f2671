package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"crmwatch/tracing/query"
)

const traceDir = "../../tracing/testdata/"

func runTrace(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newTraceCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestTraceStatsJSON(t *testing.T) {
	out, _, err := runTrace(t, "", "stats", "--json", traceDir+"header-crm2011/input.log", traceDir+"thread-variants/input.log")
	if err != nil {
		t.Fatal(err)
	}
	var st query.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if st.Records != 4 || st.ByLevel["verbose"] != 2 || st.ByLevel["warning"] != 1 || st.ByLevel["info"] != 1 ||
		st.Requests != 2 || st.ByProcess["CrmAsyncService"] != 1 {
		t.Errorf("stats = %s", out)
	}
	for _, key := range []string{`"by_category"`, `"by_organization"`, `"slowest_requests"`, `"top_errors"`, `"first"`, `"last"`, `"malformed"`} {
		if !strings.Contains(out, key) {
			t.Errorf("stats JSON lacks %s", key)
		}
	}
}

func TestTraceGrepTextFromStdin(t *testing.T) {
	in := "[2020-01-01 00:00:00.0] Process: w3wp |Level: Info |ReqId: a | Op.A\n>fine\n" +
		"[2020-01-01 00:00:01.0] Process: w3wp |Level: Error |ReqId: b | Op.B\n>broken |Level: Error\n  more\n"
	out, _, err := runTrace(t, in, "grep", "-", "--level", "warning")
	if err != nil {
		t.Fatal(err)
	}
	want := "[2020-01-01 00:00:01.0] Process: w3wp |Level: Error |ReqId: b | Op.B\n>broken |Level: Error\n  more\n"
	if out != want {
		t.Errorf("grep output:\n%q\nwant\n%q", out, want)
	}
	if _, _, err := runTrace(t, "", "grep", "-", "--level", "loud", "--since", "never"); err == nil ||
		!strings.Contains(err.Error(), "--level") || !strings.Contains(err.Error(), "--since") {
		t.Errorf("bad flags error = %v", err)
	}
}

func TestTraceParseJSONLines(t *testing.T) {
	out, _, err := runTrace(t, "", "parse", traceDir+"crm40-error-report-crlf/input.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	er, _ := rec["error_report"].(map[string]any)
	if rec["level"] != "Error" || er["error_number"] != "0x80040220" || rec["file"] == "" {
		t.Errorf("record = %v", rec)
	}
}

func TestTraceExport(t *testing.T) {
	var mu sync.Mutex
	var logs int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/logs" {
			var req collogspb.ExportLogsServiceRequest
			if err := proto.Unmarshal(data, &req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			mu.Lock()
			for _, rl := range req.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					logs += len(sl.LogRecords)
				}
			}
			mu.Unlock()
		}
	}))
	defer srv.Close()
	_, stderr, err := runTrace(t, "", "export", "--otlp", srv.URL, "--header", "X-Key=hush", traceDir+"header-crm2011/input.log",
		traceDir+"unmanaged-outlook/input.log")
	if err != nil {
		t.Fatal(err)
	}
	if logs != 4 || !strings.Contains(stderr, "exported 4 log records and 1 request span in") || strings.Contains(stderr, "hush") {
		t.Errorf("logs=%d stderr=%q", logs, stderr)
	}
}
