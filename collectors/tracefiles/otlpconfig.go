package tracefiles

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"crmwatch/event"
	"crmwatch/tracing/otlp"
)

// OTLPConfig makes the collector export every record it tails to an
// OpenTelemetry receiver as well: one log record per trace record and one
// span per CRM request id (tracing/otlp). The export runs beside the
// transport to the centre and never holds it up: records wait in a bounded
// queue and are dropped and counted when it is full.
type OTLPConfig struct {
	// Endpoint is the OTLP/HTTP base URL, e.g. http://otel-collector:4318
	// (logs go to /v1/logs, spans to /v1/traces). Empty (the default)
	// disables the export. Credentials belong in Headers, not in the URL.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every request (an API key, a tenant id). Their
	// values never appear in logs, errors or printed configuration.
	Headers map[string]otlp.Secret `yaml:"headers"`
	// MinLevel is the least severe level exported, independent of the
	// collector's min_level (what is shipped to the centre): verbose, info,
	// warning or error. Default "": the collector's min_level. The
	// collector's categories apply to the export too.
	MinLevel string `yaml:"min_level"`
	// QueueSize bounds the records waiting for the exporter. Default
	// 10000; 100–1000000.
	QueueSize int `yaml:"queue_size"`
	// QueueBytes bounds the same queue by size (a record counts twice its
	// text: raw text plus parsed fields). Default 32 MiB; 1 MiB–1 GiB.
	QueueBytes int `yaml:"queue_bytes"`
	// BatchSize is the log records per request. Default 512; 1–10000.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how often pending records and finished request
	// spans are sent, and how often a failing receiver is tried again.
	// Default 5s; 100ms–1m.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Timeout bounds one HTTP request. Default 10s; 100ms–1m.
	Timeout time.Duration `yaml:"timeout"`
	// ShutdownTimeout bounds the final drain and flush when the agent
	// stops; what is left then is dropped and counted. Default 5s; 0–1m.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Gzip compresses request bodies. Default true.
	Gzip bool `yaml:"gzip"`
}

// Exporter limits the agent does not expose: a failing receiver costs a
// few quick attempts per flush (the queue absorbs the rest), and open
// request spans are bounded so a verbose trace cannot grow them without
// limit.
const (
	otlpRetries       = 2
	otlpBackoff       = 250 * time.Millisecond
	otlpMaxOpenSpans  = 2000
	otlpMaxSpanEvents = 128
)

func defaultOTLP() OTLPConfig {
	return OTLPConfig{
		QueueSize:       10_000,
		QueueBytes:      32 << 20,
		BatchSize:       512,
		FlushInterval:   5 * time.Second,
		Timeout:         10 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		Gzip:            true,
	}
}

// Enabled reports whether records are exported.
func (o *OTLPConfig) Enabled() bool { return o.Endpoint != "" }

// SetOTLP points the export at endpoint with exactly these headers (the
// agent's --otlp and --otlp-header flags). Headers from the file are
// replaced, not merged, so a key meant for one receiver is never sent to
// another; the other otlp settings stay.
func (c *Config) SetOTLP(endpoint string, headers []otlp.Header) {
	c.OTLP.Endpoint = endpoint
	c.OTLP.Headers = make(map[string]otlp.Secret, len(headers))
	for _, h := range headers {
		c.OTLP.Headers[h.Name] = h.Value
	}
}

// validate reports every problem of the otlp section, prefixed otlp.
func (o *OTLPConfig) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("otlp."+format, a...)) }
	if o.Enabled() {
		if u, err := url.Parse(o.Endpoint); err == nil && u.User != nil {
			add("endpoint: carries credentials; put them in otlp.headers, which are never printed")
		} else if err := o.options().Validate(); err != nil {
			errs = append(errs, err) // names the endpoint problem and each bad header name
		}
	} else if len(o.Headers) > 0 {
		add("headers: set without otlp.endpoint (pass --otlp URL or set endpoint)")
	}
	if o.MinLevel != "" {
		if l, err := event.ParseLevel(o.MinLevel); err != nil || l == event.LevelUnknown || l == event.LevelCritical {
			add("min_level %q: want verbose, info, warning, error or empty (the collector's min_level)", o.MinLevel)
		}
	}
	if o.QueueSize < 100 || o.QueueSize > 1_000_000 {
		add("queue_size %d: want 100 to 1000000", o.QueueSize)
	}
	if o.QueueBytes < 1<<20 || o.QueueBytes > 1<<30 {
		add("queue_bytes %d: want 1048576 to 1073741824", o.QueueBytes)
	}
	if o.BatchSize < 1 || o.BatchSize > 10000 {
		add("batch_size %d: want 1 to 10000", o.BatchSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"flush_interval", o.FlushInterval}, {"timeout", o.Timeout}} {
		if d.v < 100*time.Millisecond || d.v > time.Minute {
			add("%s %v: want 100ms to 1m", d.name, d.v)
		}
	}
	if o.ShutdownTimeout < 0 || o.ShutdownTimeout > time.Minute {
		add("shutdown_timeout %v: want 0 to 1m", o.ShutdownTimeout)
	}
	return errs
}

// options are the exporter's options; headers in name order.
func (o *OTLPConfig) options() otlp.Options {
	names := make([]string, 0, len(o.Headers))
	for n := range o.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	hs := make([]otlp.Header, 0, len(names))
	for _, n := range names {
		hs = append(hs, otlp.Header{Name: n, Value: o.Headers[n]})
	}
	return otlp.Options{
		Endpoint:      o.Endpoint,
		Headers:       hs,
		Client:        &http.Client{Timeout: o.Timeout},
		BatchSize:     o.BatchSize,
		Gzip:          o.Gzip,
		MaxRetries:    otlpRetries,
		Backoff:       otlpBackoff,
		MaxOpenSpans:  otlpMaxOpenSpans,
		MaxSpanEvents: otlpMaxSpanEvents,
	}
}

// redactedEndpoint is the endpoint as logs show it.
func (o *OTLPConfig) redactedEndpoint() string {
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
