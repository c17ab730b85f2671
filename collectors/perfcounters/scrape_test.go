package perfcounters

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"

	"github.com/prometheus/common/expfmt"
)

// nodeMappings map node_exporter's metrics (testdata/node_exporter.prom)
// onto the paths a Windows server reports.
var nodeMappings = []Mapping{
	{Metric: "node_memory_MemAvailable_bytes", Path: `\Memory\Available MBytes`, Scale: 1.0 / (1 << 20)},
	{Metric: "node_filesystem_avail_bytes", Match: map[string]string{"fstype": "ext4"}, Path: `\LogicalDisk({mountpoint})\Free Megabytes`, Scale: 1.0 / (1 << 20)},
	{Metric: "node_network_transmit_bytes_total", Path: `\Network Interface({device})\Bytes Total/sec`, Rate: true},
	{Metric: "node_network_receive_bytes_total", Path: `\Network Interface({device})\Bytes Total/sec`, Rate: true},
	{Metric: "node_load1", Path: `\System\Load({cpu})\One Minute`},
}

func TestScrapeMapping(t *testing.T) {
	page, err := os.ReadFile("testdata/node_exporter.prom")
	if err != nil {
		t.Fatal(err)
	}
	s := newScraper(ScrapeConfig{URL: secret.MustURL("http://x/metrics"), Mappings: nodeMappings}, time.Second)
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	first, err := s.parse(bytes.NewReader(page), t0)
	if err != nil {
		t.Fatal(err)
	}
	got := readingStrings(first.readings)
	want := []string{`\LogicalDisk(/)\Free Megabytes=25600`, `\Memory\Available MBytes=4096`}
	if !slices.Equal(got, want) {
		t.Errorf("first scrape:\n got  %q\n want %q", got, want)
	}
	// node_load1 has no cpu label: the series cannot be mapped and is counted.
	if first.unmapped != 1 {
		t.Errorf("unmapped = %d, want 1 (node_load1 without a cpu label)", first.unmapped)
	}
	// Ten seconds later eth0 sent 1 MB and received 2 MB more: the two
	// rate mappings onto one path add up.
	later := strings.ReplaceAll(string(page), `node_network_transmit_bytes_total{device="eth0"} 5e+06`, `node_network_transmit_bytes_total{device="eth0"} 6e+06`)
	later = strings.ReplaceAll(later, `node_network_receive_bytes_total{device="eth0"} 1e+07`, `node_network_receive_bytes_total{device="eth0"} 1.2e+07`)
	second, err := s.parse(strings.NewReader(later), t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got = readingStrings(second.readings)
	if !slices.Contains(got, `\Network Interface(eth0)\Bytes Total/sec=300000`) || !slices.Contains(got, `\Network Interface(lo)\Bytes Total/sec=0`) {
		t.Errorf("second scrape: %q", got)
	}
	if _, err := s.parse(strings.NewReader("# TYPE x gauge\nx{a=\"1\" 3\n"), t0); err == nil {
		t.Error("a malformed exposition must be an error")
	}
}

// recordSink keeps what a collector emitted.
type recordSink struct {
	mu      sync.Mutex
	batches atomic.Int64
	samples []string
	hosts   map[string]bool
}

func newRecordSink() *recordSink { return &recordSink{hosts: map[string]bool{}} }

func (r *recordSink) Emit(_ context.Context, b event.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches.Add(1)
	for _, s := range b.Samples {
		r.samples = append(r.samples, s.Counter+"="+formatFloat(s.Value))
		r.hosts[s.Host] = true
	}
	return nil
}

func (r *recordSink) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// TestScrapeTargetMetrics runs the collector against a live HTTP target:
// samples arrive with the agent's host name, the scrape's duration and
// success are metrics, a failing target sets success to 0, and neither the
// bearer token nor the URL's password shows up in logs.
func TestScrapeTargetMetrics(t *testing.T) {
	page, _ := os.ReadFile("testdata/node_exporter.prom")
	var fail atomic.Bool
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		if fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Write(page) //nolint:errcheck // test server
	}))
	defer srv.Close()
	const token, password = "tok-SECRET-1234", "pw-SECRET-5678"
	url := strings.Replace(srv.URL, "http://", "http://scraper:"+password+"@", 1) + "/metrics"
	cfg := DefaultConfig()
	cfg.Source = SourceNone
	cfg.Prometheus = []ScrapeConfig{{URL: secret.MustURL(url), BearerToken: secret.New(token), Interval: time.Second, Mappings: nodeMappings}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "CRMAPP01", Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecordSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, collectors.SinkFunc(sink.Emit)) }()
	target := strings.Replace(url, password, secret.Redacted, 1)
	waitUntil(t, "a scrape", func() bool { return len(sink.snapshot()) > 0 })
	if !slices.Contains(sink.snapshot(), `\Memory\Available MBytes=4096`) || !sink.hosts["CRMAPP01"] || len(sink.hosts) != 1 {
		t.Errorf("samples %q from hosts %v", sink.snapshot(), sink.hosts)
	}
	if got := auth.Load(); got != "Bearer "+token {
		t.Errorf("Authorization = %q", got)
	}
	if v := testutil.ToFloat64(c.(*collector).m.scrapeSuccess.WithLabelValues(target)); v != 1 {
		t.Errorf("scrape_success = %v, want 1 (target label %q)", v, target)
	}
	if v := testutil.ToFloat64(c.(*collector).m.scrapeDuration.WithLabelValues(target)); v <= 0 {
		t.Errorf("scrape_duration_seconds = %v", v)
	}
	fail.Store(true)
	waitUntil(t, "the failed scrape", func() bool {
		return testutil.ToFloat64(c.(*collector).m.scrapeSuccess.WithLabelValues(target)) == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "scrape failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	for _, s := range []string{token, password} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("secret %q in the logs:\n%s", s, logs.String())
		}
	}
	if n, err := testutil.GatherAndCount(reg, "crmwatch_perfcounters_scrape_success", "crmwatch_perfcounters_scrape_duration_seconds"); err != nil || n != 2 {
		t.Errorf("scrape metrics registered: %d, %v", n, err)
	}
	out, _ := testutil.CollectAndFormat(c.(*collector).m.scrapeSuccess, expfmt.TypeTextPlain)
	if strings.Contains(string(out), password) {
		t.Errorf("the target label shows the password: %s", out)
	}
}

func FuzzScrapeParse(f *testing.F) {
	page, _ := os.ReadFile("testdata/node_exporter.prom")
	f.Add(page)
	f.Add([]byte("x 1\n"))
	f.Add([]byte("# TYPE node_load1 gauge\nnode_load1{cpu=\")\\\\(\"} NaN\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newScraper(ScrapeConfig{URL: secret.MustURL("http://x/"), Mappings: nodeMappings}, time.Second)
		res, err := s.parse(bytes.NewReader(b), time.Unix(0, 0))
		if err != nil {
			return
		}
		for _, r := range res.readings {
			if r.Path.Object == "" || r.Path.Counter == "" {
				t.Fatalf("mapped to an incomplete path %+v", r.Path)
			}
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
