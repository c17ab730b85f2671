package tracefiles

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/tracing/otlp"
)

const sample = "CRM02-w3wp(15248#65568210)-CRMWeb-20240501-1.log"

// countingSink records every event it accepts; it can refuse the next n
// batches to play a transport that is down.
type countingSink struct {
	mu     sync.Mutex
	events []event.Event
	refuse int
}

var errDown = errors.New("transport down")

func (s *countingSink) Emit(_ context.Context, b event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return errDown
	}
	for _, ev := range b.Events {
		if ev.Host != b.Host {
			return errors.New("event host differs from batch host")
		}
	}
	s.events = append(s.events, b.Events...)
	return nil
}

func (s *countingSink) snapshot() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// run starts the collector on a copy of the sample trace and returns once
// want events arrived (or fails at the deadline).
func run(t *testing.T, cfg *Config, sink *countingSink, want int) (*prometheus.Registry, string) {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sample), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Dirs, cfg.StartAt = []string{dir}, StartAtBeginning
	cfg.PollInterval, cfg.IdleFlush = 10*time.Millisecond, 30*time.Millisecond
	reg := prometheus.NewRegistry()
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "agent-host", Registerer: reg, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(sink.snapshot()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d", len(sink.snapshot()), want)
		}
		<-tick.C
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return reg, dir
}

func TestLevelsAndCategories(t *testing.T) {
	cases := []struct {
		name       string
		minLevel   string
		categories []string
		wantLevels []event.Level
		filtered   float64
	}{
		{"default ships warning and above", "warning", nil,
			[]event.Level{event.LevelError, event.LevelWarning, event.LevelError}, 2},
		{"verbose ships everything", "verbose", nil,
			[]event.Level{event.LevelVerbose, event.LevelError, event.LevelWarning, event.LevelInfo, event.LevelError}, 0},
		{"category family", "verbose", []string{"Platform.*"},
			[]event.Level{event.LevelVerbose, event.LevelInfo, event.LevelError}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MinLevel, cfg.Categories = tc.minLevel, tc.categories
			sink := &countingSink{}
			reg, dir := run(t, cfg, sink, len(tc.wantLevels))
			evs := sink.snapshot()
			if len(evs) != len(tc.wantLevels) {
				t.Fatalf("%d events, want %d", len(evs), len(tc.wantLevels))
			}
			raw, _ := os.ReadFile(filepath.Join(dir, sample))
			for i, ev := range evs {
				if ev.Level != tc.wantLevels[i] {
					t.Errorf("event %d level %v, want %v", i, ev.Level, tc.wantLevels[i])
				}
				if ev.Host != "CRM02" || ev.Role != "AppServer, AsyncService" || ev.Source != event.SourceTrace {
					t.Errorf("event %d host/role/source = %q/%q/%q, want the header's CRM02/AppServer, AsyncService/trace", i, ev.Host, ev.Role, ev.Source)
				}
				o := ev.Origin
				if o.Collector != Type || o.File != filepath.Join(dir, sample) || len(o.Fingerprint) != 16 {
					t.Errorf("event %d origin %+v", i, o)
				}
				if !bytes.HasPrefix(raw[o.Offset:], []byte("[")) {
					t.Errorf("event %d offset %d is not at a record head", i, o.Offset)
				}
				if ev.Time.Location() != time.Local || ev.Time.Hour() != 10 {
					t.Errorf("event %d time %v, want 10:00 local (trace stamps are server-local)", i, ev.Time)
				}
			}
			if got := metric(t, reg, "crmwatch_tracefiles_records_total", "filtered"); got != tc.filtered {
				t.Errorf("filtered = %v, want %v", got, tc.filtered)
			}
		})
	}
}

func TestSinkRefusalIsRetriedWithoutLoss(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinLevel = "verbose"
	cfg.BatchSize = 2
	sink := &countingSink{refuse: 2}
	reg, _ := run(t, cfg, sink, 5)
	evs := sink.snapshot()
	seen := map[int64]int{}
	for _, ev := range evs {
		seen[ev.Origin.Offset]++
	}
	if len(seen) != 5 || len(evs) != 5 {
		t.Errorf("%d events at %d offsets, want 5 once each", len(evs), len(seen))
	}
	if got := metric(t, reg, "crmwatch_tracefiles_emit_errors_total", ""); got != 2 {
		t.Errorf("emit errors = %v, want 2", got)
	}
}

func TestMalformedFragmentsAreCountedNotShipped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinLevel = "verbose"
	sink := &countingSink{}
	dir := t.TempDir()
	// A file that starts mid-record (written before a restart of tracing).
	body := ">orphan message line\r\n[2024-05-01 10:00:04.000] Process: w3wp |Organization:x |Thread: 13 |Category: Platform |User: u |Level: Error |ReqId: | A.B\r\n>m\r\n"
	if err := os.WriteFile(filepath.Join(dir, "x.log"), []byte("# CRM Tracing\r\n# ComputerName: CRM09\r\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := newCollector(withDirs(cfg, dir), collectors.Settings{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	c.sink = sink
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.tailer.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.snapshot()) < 1 && time.Now().Before(deadline) {
		<-time.After(5 * time.Millisecond)
	}
	cancel()
	if evs := sink.snapshot(); len(evs) != 1 || evs[0].Host != "CRM09" {
		t.Fatalf("events %+v, want the one record from CRM09", evs)
	}
	if got := testutil.ToFloat64(c.m.records.WithLabelValues(outcomeMalformed)); got != 0 {
		t.Errorf("malformed = %v, want 0: lines before the first head are the preamble", got)
	}
}

func withDirs(cfg *Config, dir string) *Config {
	cfg.Dirs, cfg.StartAt = []string{dir}, StartAtBeginning
	cfg.PollInterval, cfg.IdleFlush = 10*time.Millisecond, 30*time.Millisecond
	return cfg
}

func TestConfigValidateReportsEverything(t *testing.T) {
	cfg := &Config{Pattern: "[", PollInterval: time.Hour, IdleFlush: time.Millisecond, BatchSize: 0,
		MaxRecordBytes: 10, StartAt: "middle", MinLevel: "loud", TimeZone: "Mars/Olympus"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"dirs: required", "pattern", "poll_interval", "idle_flush", "batch_size", "max_record_bytes", "start_at", "min_level", "time_zone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	if got := defaultDirs("windows", `D:\Apps`); len(got) != 1 || got[0] != `D:\Apps\Microsoft Dynamics CRM\Trace` {
		t.Errorf("windows default = %v", got)
	}
	if got := defaultDirs("windows", ""); got[0] != `C:\Program Files\Microsoft Dynamics CRM\Trace` {
		t.Errorf("windows default without ProgramFiles = %v", got)
	}
	if got := defaultDirs("linux", "/x"); got != nil {
		t.Errorf("linux default = %v, want none (required)", got)
	}
	cfg := DefaultConfig()
	cfg.Dirs = []string{"/trace"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if NewFactory().Type() != "tracefiles" {
		t.Error("type")
	}
}

// TestSampleConfig decodes the README's sample the way the agent does
// (strict YAML over the defaults) and validates it.
func TestSampleConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Collectors map[string]yaml.Node `yaml:"collectors"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	node := file.Collectors[Type]
	cfg := NewFactory().DefaultConfig().(*Config)
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(&node); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Dirs = []string{`C:\Program Files\Microsoft Dynamics CRM\Trace`}
	want.Categories = []string{}
	want.OTLP.Headers = map[string]otlp.Secret{}
	if cfg.PollInterval != want.PollInterval || cfg.IdleFlush != want.IdleFlush || cfg.MinLevel != want.MinLevel || cfg.Dirs[0] != want.Dirs[0] ||
		!reflect.DeepEqual(cfg.OTLP, want.OTLP) {
		t.Errorf("sample decoded to %+v, want the documented defaults %+v", cfg, want)
	}
}
