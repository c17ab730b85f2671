package tracefiles

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"crmwatch/tracing/otlp"
)

func TestOTLPConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*OTLPConfig)
		want  []string // substrings of the error; none: valid
	}{
		{"off by default", func(*OTLPConfig) {}, nil},
		{"endpoint with header", func(o *OTLPConfig) {
			o.Endpoint, o.Headers = "https://otel.example:4318", map[string]otlp.Secret{"Authorization": "Bearer " + apiKey}
		}, nil},
		{"own min level", func(o *OTLPConfig) { o.Endpoint, o.MinLevel = "http://c:4318", "verbose" }, nil},
		{"every problem at once", func(o *OTLPConfig) {
			o.Endpoint, o.Headers = "ftp://c", map[string]otlp.Secret{"bad name": apiKey}
			o.MinLevel, o.QueueSize, o.QueueBytes, o.BatchSize = "loud", 1, 1, 0
			o.FlushInterval, o.Timeout, o.ShutdownTimeout = time.Millisecond, time.Hour, -1
		}, []string{"scheme", `header name "bad name"`, "otlp.min_level", "otlp.queue_size", "otlp.queue_bytes",
			"otlp.batch_size", "otlp.flush_interval", "otlp.timeout", "otlp.shutdown_timeout"}},
		{"credentials in the URL", func(o *OTLPConfig) { o.Endpoint = "http://user:" + apiKey + "@c:4318" }, []string{"otlp.endpoint: carries credentials"}},
		{"headers without endpoint", func(o *OTLPConfig) { o.Headers = map[string]otlp.Secret{"X-Api-Key": apiKey} }, []string{"otlp.headers: set without otlp.endpoint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Dirs = []string{"/trace"}
			tc.tweak(&cfg.OTLP)
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("the secret leaked into the error: %v", err)
			}
		})
	}
}

// TestOTLPHeadersNeverPrint: however the configuration is printed, header
// values stay hidden.
func TestOTLPHeadersNeverPrint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SetOTLP("http://c:4318", []otlp.Header{{Name: "X-Api-Key", Value: apiKey}})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, cfg); strings.Contains(out, apiKey) {
			t.Errorf("%s printed the secret: %s", verb, out)
		}
	}
	if got := cfg.OTLP.options().Headers; len(got) != 1 || string(got[0].Value) != apiKey {
		t.Errorf("exporter headers = %d, want the one header with its value", len(got))
	}
}

func TestSetOTLPReplacesEndpointAndHeaders(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OTLP.Endpoint, cfg.OTLP.MinLevel, cfg.OTLP.QueueSize = "http://file:4318", "error", 500
	cfg.OTLP.Headers = map[string]otlp.Secret{"X-File-Key": "from the file"}
	cfg.SetOTLP("http://flag:4318", []otlp.Header{{Name: "X-Api-Key", Value: "a"}, {Name: "X-Tenant", Value: "b"}})
	o := cfg.OTLP
	if o.Endpoint != "http://flag:4318" || len(o.Headers) != 2 || o.Headers["X-File-Key"] != "" {
		t.Errorf("endpoint %q, headers %d (file key kept: %v)", o.Endpoint, len(o.Headers), o.Headers["X-File-Key"] != "")
	}
	if o.MinLevel != "error" || o.QueueSize != 500 {
		t.Errorf("other settings from the file were lost: %+v", o)
	}
	if h := o.options().Headers; h[0].Name != "X-Api-Key" || h[1].Name != "X-Tenant" {
		t.Errorf("headers not in name order: %v", h)
	}
}
