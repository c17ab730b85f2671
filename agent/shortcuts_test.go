package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/secret"
	"crmwatch/tracing/otlp"
)

const headerSecret = "s3cret-never-printed"

func TestOTLPFlags(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		dirs     []string
		endpoint string
		headers  []string
		want     tracefiles.OTLPConfig // checked fields: Endpoint, Headers, MinLevel
		wantErrs []string
	}{
		{name: "no flag keeps the file", yaml: "collectors:\n  tracefiles:\n    dirs: [/t]\n    otlp: {endpoint: 'http://file:4318', headers: {X-Api-Key: k}, min_level: error}\n",
			want: tracefiles.OTLPConfig{Endpoint: "http://file:4318", Headers: map[string]otlp.Secret{"X-Api-Key": "k"}, MinLevel: "error"}},
		{name: "flag replaces endpoint and headers, keeps the rest",
			yaml:     "collectors:\n  tracefiles:\n    dirs: [/t]\n    otlp: {endpoint: 'http://file:4318', headers: {X-Api-Key: k}, min_level: error}\n",
			endpoint: "http://flag:4318", headers: []string{"Authorization=Bearer " + headerSecret, "X-Tenant=a=b"},
			want: tracefiles.OTLPConfig{Endpoint: "http://flag:4318", MinLevel: "error",
				Headers: map[string]otlp.Secret{"Authorization": "Bearer " + headerSecret, "X-Tenant": "a=b"}}},
		{name: "with --trace-dir only", dirs: []string{"/t"}, endpoint: "http://flag:4318",
			want: tracefiles.OTLPConfig{Endpoint: "http://flag:4318", Headers: map[string]otlp.Secret{}}},
		{name: "no trace collector", endpoint: "http://flag:4318", wantErrs: []string{"collectors.tracefiles: dirs: required"}},
		{name: "header without --otlp", dirs: []string{"/t"}, headers: []string{"A=b"}, wantErrs: []string{"otlp.headers: set without otlp.endpoint (pass --otlp URL"}},
		{name: "bad header flag", dirs: []string{"/t"}, endpoint: "http://flag:4318", headers: []string{headerSecret, "=" + headerSecret},
			wantErrs: []string{"--otlp-header #1: want NAME=VALUE", "--otlp-header #2"}},
		{name: "bad URL", dirs: []string{"/t"}, endpoint: "ftp://flag", headers: []string{"Bad Name=" + headerSecret},
			wantErrs: []string{"collectors.tracefiles:", "scheme", `header name "Bad Name"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgFile := ""
			if tc.yaml != "" {
				cfgFile = filepath.Join(t.TempDir(), "agent.yaml")
				writeFile(t, cfgFile, tc.yaml)
			}
			ovs, err := Shortcuts{TraceDirs: tc.dirs, OTLP: tc.endpoint, OTLPHeaders: tc.headers}.Overrides()
			var a *Agent
			if err == nil {
				a, err = New(Options{Name: "h", StateDir: t.TempDir(), ConfigFile: cfgFile, Set: ovs,
					Factories: []collectors.Factory{tracefiles.NewFactory()}})
			}
			if len(tc.wantErrs) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErrs)
				}
				for _, w := range tc.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if strings.Contains(err.Error(), headerSecret) {
					t.Errorf("the header value leaked into the error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := a.configs[tracefiles.Type].(*tracefiles.Config).OTLP
			if got.Endpoint != tc.want.Endpoint || got.MinLevel != tc.want.MinLevel || len(got.Headers) != len(tc.want.Headers) {
				t.Fatalf("otlp = %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.Headers {
				if got.Headers[k] != v {
					t.Errorf("header %s differs", k)
				}
			}
		})
	}
}

// logsReceiver counts the OTLP log records it receives (decoded with the
// official protobuf types; the exporter is told not to gzip).
type logsReceiver struct {
	mu   sync.Mutex
	n    int
	keys []string
}

func (rv *logsReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/v1/logs" {
		return // spans: accepted, not counted
	}
	var req collogspb.ExportLogsServiceRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.keys = append(rv.keys, r.Header.Get("X-Api-Key"))
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			rv.n += len(sl.LogRecords)
		}
	}
}

func (rv *logsReceiver) count() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.n
}

// TestRunExportsOTLPBesideJetStream runs the agent as `crmwatch agent
// --trace-dir D --otlp URL --otlp-header X-Api-Key=…` would: records of a
// trace file reach the JetStream events stream and the OTLP receiver.
func TestRunExportsOTLPBesideJetStream(t *testing.T) {
	natsURL, js, names := startJetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rv := &logsReceiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	cfgFile := filepath.Join(t.TempDir(), "agent.yaml")
	writeFile(t, cfgFile, "collectors:\n  tracefiles:\n    dirs: [/replaced/by/trace-dir]\n    poll_interval: 20ms\n    idle_flush: 50ms\n    start_at: beginning\n    otlp: {flush_interval: 100ms, gzip: false}\n")
	dir := t.TempDir()
	ovs, err := Shortcuts{TraceDirs: []string{dir}, OTLP: srv.URL, OTLPHeaders: []string{"X-Api-Key=" + headerSecret}}.Overrides()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{NATS: secret.MustURL(natsURL), Name: "crm02", ConfigFile: cfgFile, Set: ovs,
		StateDir: t.TempDir(), HeartbeatEvery: time.Hour, Factories: []collectors.Factory{tracefiles.NewFactory()}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "collectors", "tracefiles", "testdata", "CRM02-w3wp(15248#65568210)-CRMWeb-20240501-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CRM02-w3wp-CRMWeb-20240501-1.log"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stream, _ := js.Stream(ctx, names.EventsStream())
	waitFor(t, "the events at JetStream and the records at the OTLP receiver", func() bool {
		info, _ := stream.Info(ctx)
		return info != nil && info.State.Msgs >= 1 && rv.count() == 3 // warning and above, the default
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for _, k := range rv.keys {
		if k != headerSecret {
			t.Errorf("X-Api-Key = %q", k)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// FuzzShortcutHeaders: any --otlp-header value parses or fails without
// panicking, a parsed header keeps its value, and an error quotes nothing
// of the flag.
func FuzzShortcutHeaders(f *testing.F) {
	for _, s := range []string{"X-Api-Key=abc", "Authorization=Bearer a=b", "novalue", "=x", " = ", "A="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, flag string) {
		ovs, err := Shortcuts{OTLPHeaders: []string{flag}}.Overrides()
		if err != nil {
			if want := "--otlp-header #1: want NAME=VALUE (the value is not shown)"; err.Error() != want {
				t.Errorf("error %q, want the fixed message that quotes nothing", err)
			}
			return
		}
		hs := ovs[0].Value.(map[string]any)
		if len(hs) != 1 {
			t.Fatalf("%q parsed to %d headers", flag, len(hs))
		}
		for name, v := range hs {
			if name == "" || !strings.HasSuffix(flag, "="+v.(string)) {
				t.Errorf("%q parsed to %q=%q", flag, name, v)
			}
		}
	})
}
