package agent

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"crmwatch/collectors"
)

func TestTraceControlFromFileAndFlags(t *testing.T) {
	state := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	writeFile(t, cfg, "collectors:\n  once: {}\ntrace_control:\n  store: file\n  dir: D:\\CRM\\Trace\n  quota_mb: 512\n  min_free_percent: -1\n  guard_every: 5s\n")
	a, err := New(Options{Name: "h", ConfigFile: cfg, StateDir: state, Factories: []collectors.Factory{onceFactory{}},
		TraceControl: TraceControl{QuotaMB: 256}})
	if err != nil {
		t.Fatal(err)
	}
	tc := a.o.TraceControl
	if tc.Store != TraceStoreFile || tc.File != filepath.Join(state, "trace-settings.json") || tc.Dir != `D:\CRM\Trace` ||
		tc.QuotaMB != 256 || tc.MinFreePercent != -1 || tc.GuardEvery != 5*time.Second {
		t.Errorf("resolved %+v (flags win over the file, defaults fill the rest)", tc)
	}
	g := tc.guard()
	if g.QuotaBytes != 256<<20 || g.MinFreeBytes != 0 || g.MinFreePercent != -1 {
		t.Errorf("guard %+v", g)
	}
}

func TestTraceControlDefaultsAndMistakes(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	writeFile(t, cfg, "collectors:\n  once: {dirs: [/crm/trace, /other]}\n")
	tc, err := resolveTraceControl(TraceControl{}, mustRead(t, cfg), "/state", nil)
	if err != nil || tc.Store != DefaultTraceStore() || tc.File != filepath.Join("/state", "trace-settings.json") {
		t.Errorf("defaults: %+v %v", tc, err)
	}
	f := mustRead(t, cfg)
	f.Collectors[TraceFilesType] = f.Collectors["once"]
	if tc, _ := resolveTraceControl(TraceControl{}, f, "/state", nil); tc.Dir != "/crm/trace" {
		t.Errorf("dir from the tracefiles collector: %q", tc.Dir)
	}
	if tc, _ := resolveTraceControl(TraceControl{}, f, "/state", []string{"/flag/dir"}); tc.Dir != "/flag/dir" {
		t.Errorf("--trace-dir wins: %q", tc.Dir)
	}
	_, err = New(Options{Name: "h", StateDir: t.TempDir(), TraceControl: TraceControl{Store: "regedit", MinFreePercent: 100}})
	for _, want := range []string{`--trace-settings "regedit": want registry, file or off`, "min free 100% would always trip"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if runtime.GOOS != "windows" {
		_, err = New(Options{Name: "h", StateDir: t.TempDir(), TraceControl: TraceControl{Store: "registry"}})
		if err == nil || !strings.Contains(err.Error(), "the registry exists only on Windows; use file") {
			t.Errorf("registry off Windows: %v", err)
		}
	}
}

func mustRead(t *testing.T, path string) File {
	t.Helper()
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
