package perfcounters

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"crmwatch/collectors"
	"crmwatch/event"
)

// mapSource serves fixed instances per object\counter and counts reads.
type mapSource struct {
	mu     sync.Mutex
	values map[string]map[string]float64 // lower object\counter → instance → value
	reads  int
	closed bool
}

func (m *mapSource) Read(_ context.Context, want []event.CounterPath) ([]Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	var out []Reading
	for _, w := range want {
		for inst, v := range m.values[strings.ToLower(w.Object+`\`+w.Counter)] {
			if instanceMatches(w.Instance, inst) {
				p := w
				p.Instance = inst
				out = append(out, Reading{Path: p, Value: v})
			}
		}
	}
	return out, nil
}

func (m *mapSource) Close() error { m.mu.Lock(); m.closed = true; m.mu.Unlock(); return nil }

func TestCollectorReadsGroupsAndReports(t *testing.T) {
	src := &mapSource{values: map[string]map[string]float64{
		`memory\available mbytes`:    {"": 2048},
		`process\handle count`:       {"a": 1, "b": 2, "c": 3, "d": 4},
		`logicaldisk\% free space`:   {"C:": 40},
		`processor\% processor time`: {"_Total": 12},
	}}
	cfg := DefaultConfig()
	cfg.Interval = time.Second
	cfg.MaxInstances = 2
	cfg.Counters = []CounterSet{
		{Paths: []string{`\Memory\Available MBytes`, `\Process(*)\Handle Count`, `\CRM Server(*)\Failed Organization Service Requests`}},
		{Paths: []string{`\LogicalDisk(C:)\% Free Space`, `\Memory\Available MBytes`}, Interval: 2 * time.Second},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Each path is read once, at its shortest interval.
	gs := cfg.groups()
	if len(gs) != 2 || gs[0].interval != time.Second || len(gs[0].paths) != 3 || len(gs[1].paths) != 1 {
		t.Fatalf("groups = %+v", gs)
	}
	reg := prometheus.NewRegistry()
	c, err := NewFactory(WithSource(func() (Source, error) { return src, nil })).New(cfg, collectors.Settings{Host: "CRMAPP01", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecordSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, collectors.SinkFunc(sink.Emit)) }()
	waitUntil(t, "samples of both groups", func() bool {
		s := strings.Join(sink.snapshot(), " ")
		return strings.Contains(s, `\LogicalDisk(C:)\% Free Space=40`) && strings.Contains(s, `\Memory\Available MBytes=2048`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := c.(*collector).m
	if v := testutil.ToFloat64(m.truncated); v == 0 {
		t.Error("Process(*) has 4 instances over max_instances 2: truncation not counted")
	}
	handles := 0
	for _, s := range sink.snapshot() {
		if strings.Contains(s, "Handle Count") {
			handles++
		}
	}
	if per := float64(handles) / float64(sink.batches.Load()); per > 2 {
		t.Errorf("%d Handle Count samples in %d batches: more than max_instances per read", handles, sink.batches.Load())
	}
	// The CRM counter is not on this host: reported, not fatal.
	if v := testutil.ToFloat64(m.unavailable); v < 1 {
		t.Errorf("unavailable paths = %v, want the CRM Server counter counted", v)
	}
	if v := testutil.ToFloat64(m.samples); v == 0 {
		t.Error("samples_total not counted")
	}
	if !src.closed {
		t.Error("source not closed on stop")
	}
}

func TestConfigValidateReportsEverything(t *testing.T) {
	data := `
interval: 100ms
source: wmi
max_instances: 0
counters:
  - paths: ['Memory\Available MBytes']
  - paths: []
    interval: 2h
prometheus:
  - url: ftp://x/
    timeout: 1m
    mappings: [{path: '\LogicalDisk({volume}\x'}]
  - mappings: []
`
	c := DefaultConfig()
	if err := yaml.Unmarshal([]byte(data), c); err != nil {
		t.Fatal(err)
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		"interval 100ms", `source "wmi"`, "max_instances 0", `counters[0].paths[0]`, "counters[1].paths: empty",
		"counters[1].interval 2h0m0s", "prometheus[0].url ftp://x/", "prometheus[0].timeout 1m0s",
		"prometheus[0].mappings[0].metric: required", `prometheus[0].mappings[0].path`, "prometheus[1].url: required",
		"prometheus[1].mappings: empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestApplyPlan(t *testing.T) {
	c := DefaultConfig()
	c.Counters = []CounterSet{{Paths: []string{`\Memory\Available MBytes`}}}
	if c.ApplyPlan(collectors.Plan{Traces: []collectors.TraceSource{{Directory: "x"}}}) {
		t.Error("a plan without counters asks nothing of this collector")
	}
	asked := c.ApplyPlan(collectors.Plan{Counters: []collectors.CounterSet{
		{Paths: []string{`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`}},
		{Paths: []string{`\LogicalDisk(C:)\% Free Space`}, Interval: time.Minute},
	}})
	if !asked || len(c.Counters) != 3 || c.Counters[0].Paths[0] != `\Memory\Available MBytes` || c.Counters[2].Interval != time.Minute {
		t.Errorf("ApplyPlan = %v, counters %+v", asked, c.Counters)
	}
	var _ collectors.Planned = c
}

func TestSourceNotOnThisSystem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Source = SourcePDH
	if _, err := NewFactory().New(cfg, collectors.Settings{}); err == nil && runtime.GOOS != "windows" {
		t.Error("source pdh off Windows must be refused with a message")
	}
}

// Before the server's plan arrives an empty collector only says it waits;
// once a plan asked for nothing it warns that nothing will be collected.
func TestEmptyCollectorWaitsForThePlanThenWarns(t *testing.T) {
	run := func(cfg *Config) string {
		var logs strings.Builder
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil))
		c, err := NewFactory(WithSource(func() (Source, error) { return &mapSource{}, nil })).
			New(cfg, collectors.Settings{Host: "CRMAPP01", Registerer: prometheus.NewRegistry(), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = c.Run(ctx, collectors.SinkFunc(func(context.Context, event.Batch) error { return nil }))
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}
	got := run(DefaultConfig())
	if !strings.Contains(got, "level=INFO") || !strings.Contains(got, "waiting for the packs' collection plan") || strings.Contains(got, "level=WARN") {
		t.Errorf("before a plan: %s", got)
	}
	cfg := DefaultConfig()
	cfg.ApplyPlan(collectors.Plan{Traces: []collectors.TraceSource{{Directory: "x"}}})
	got = run(cfg)
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "nothing to collect") {
		t.Errorf("after a plan that asks no counters: %s", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
