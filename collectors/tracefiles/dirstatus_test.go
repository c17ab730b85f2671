package tracefiles

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
)

// dirLogBuffer is a log destination safe for the collector's goroutines.
type dirLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *dirLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *dirLogBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A trace folder that is missing, or not a folder, is reported at start
// (log, /metrics, SourceStatuses for the registration) and again when it
// appears or disappears.
func TestDirStatusReportedAndFollowed(t *testing.T) {
	root := t.TempDir()
	ok, missing, file := filepath.Join(root, "Trace"), filepath.Join(root, "does-not-exist"), filepath.Join(root, "a-file")
	if err := os.Mkdir(ok, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dirs, cfg.PollInterval, cfg.IdleFlush = []string{ok, missing, file}, 10*time.Millisecond, 30*time.Millisecond
	reg := prometheus.NewRegistry()
	var logs dirLogBuffer
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "h", Registerer: reg, StateDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sr := c.(collectors.StatusReporter)
	want := []string{collectors.SourceOK, collectors.SourceMissing, collectors.SourceUnreadable}
	for i, s := range sr.SourceStatuses() {
		if s.Status != want[i] || s.Path != cfg.Dirs[i] || s.Collector != Type {
			t.Errorf("status %d = %+v, want %s", i, s, want[i])
		}
	}
	if w := sr.SourceStatuses()[1].Warning(); w != "tracefiles: trace directory "+missing+" is missing" {
		t.Errorf("warning %q", w)
	}
	if w := sr.SourceStatuses()[2].Warning(); !strings.HasSuffix(w, "is unreadable (not a directory)") {
		t.Errorf("warning %q", w)
	}
	gauge := func(dir, status string) float64 { return dirGauge(t, reg, dir, status) }
	if gauge(missing, "missing") != 1 || gauge(missing, "ok") != 0 || gauge(ok, "ok") != 1 || gauge(file, "unreadable") != 1 {
		t.Error("dir status gauges wrong at start")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, &countingSink{}) }()
	defer func() { cancel(); <-done }()
	waitDirs(t, func() bool { return strings.Contains(logs.String(), "dir="+missing+" status=missing") })

	if err := os.Mkdir(missing, 0o755); err != nil {
		t.Fatal(err)
	}
	waitDirs(t, func() bool { return sr.SourceStatuses()[1].OK() })
	waitDirs(t, func() bool { return strings.Contains(logs.String(), "trace directory is readable now") })
	if gauge(missing, "ok") != 1 || gauge(missing, "missing") != 0 {
		t.Error("gauge did not follow the directory appearing")
	}
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	waitDirs(t, func() bool { return sr.SourceStatuses()[1].Status == collectors.SourceMissing })
	waitDirs(t, func() bool { return strings.Count(logs.String(), "dir="+missing+" status=missing") == 2 })
}

// dirGauge reads crmwatch_tracefiles_dir_status{dir, status}.
func dirGauge(t *testing.T, reg *prometheus.Registry, dir, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "crmwatch_tracefiles_dir_status" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["dir"] == dir && labels["status"] == status {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no crmwatch_tracefiles_dir_status{dir=%q,status=%q}", dir, status)
	return 0
}

func waitDirs(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
