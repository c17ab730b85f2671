package agent

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/tracing/settings"
	"crmwatch/tracing/tracectl"
)

// Where the CRM trace values live (TraceControl.Store).
const (
	TraceStoreRegistry = "registry" // HKLM\SOFTWARE\Microsoft\MSCRM (Windows)
	TraceStoreFile     = "file"     // a settings file (elsewhere, tests, the demo)
	TraceStoreOff      = "off"      // no remote trace control on this agent
)

// TraceControl configures remote trace control on the agent. Zero values
// take the defaults.
type TraceControl struct {
	// Store is registry (the default on Windows), file (the default
	// elsewhere) or off.
	Store string `yaml:"store"`
	// File is the settings file for Store file (default
	// <state>/trace-settings.json, where `crmwatch simulate --settings-dir`
	// looks).
	File string `yaml:"file"`
	// Dir is the CRM trace folder the disk guard measures and where a new
	// file confirms a setting (default: the first --trace-dir, or the
	// first directory of the tracefiles collector).
	Dir string `yaml:"dir"`
	// QuotaMB caps the trace folder (default 2048); -1 turns the check off.
	QuotaMB int64 `yaml:"quota_mb"`
	// MinFreeMB and MinFreePercent are the trace volume's free-space
	// floor (defaults 2048 MB and 10 %); -1 turns a check off.
	MinFreeMB      int64   `yaml:"min_free_mb"`
	MinFreePercent float64 `yaml:"min_free_percent"`
	// GuardEvery is how often the guard looks while tracing is on (default 30s).
	GuardEvery time.Duration `yaml:"guard_every"`
}

// DefaultTraceStore is registry on Windows and file elsewhere.
func DefaultTraceStore() string {
	if runtime.GOOS == "windows" {
		return TraceStoreRegistry
	}
	return TraceStoreFile
}

// guard converts the MB options to the guard's bytes.
func (t TraceControl) guard() tracectl.GuardOptions {
	mb := func(v int64) int64 {
		if v <= 0 {
			return v // 0: default, negative: off
		}
		return v << 20
	}
	return tracectl.GuardOptions{QuotaBytes: mb(t.QuotaMB), MinFreeBytes: mb(t.MinFreeMB), MinFreePercent: t.MinFreePercent, Every: t.GuardEvery}
}

// resolveTraceControl fills the defaults and checks the options; the
// config file's trace_control section is overridden by fields set on the
// command line.
func resolveTraceControl(flags TraceControl, f File, stateDir string, traceDirs []string) (TraceControl, error) {
	t := flags
	if file := f.TraceControl; file != nil {
		if t.Store == "" {
			t.Store = file.Store
		}
		if t.File == "" {
			t.File = file.File
		}
		if t.Dir == "" {
			t.Dir = file.Dir
		}
		if t.QuotaMB == 0 {
			t.QuotaMB = file.QuotaMB
		}
		if t.MinFreeMB == 0 {
			t.MinFreeMB = file.MinFreeMB
		}
		if t.MinFreePercent == 0 {
			t.MinFreePercent = file.MinFreePercent
		}
		if t.GuardEvery == 0 {
			t.GuardEvery = file.GuardEvery
		}
	}
	var errs []error
	t.Store = strings.ToLower(strings.TrimSpace(t.Store))
	switch t.Store {
	case "":
		t.Store = DefaultTraceStore()
	case TraceStoreRegistry:
		if runtime.GOOS != "windows" {
			errs = append(errs, errors.New("--trace-settings registry: the registry exists only on Windows; use file"))
		}
	case TraceStoreFile, TraceStoreOff:
	default:
		errs = append(errs, fmt.Errorf("--trace-settings %q: want registry, file or off", t.Store))
	}
	if t.File == "" {
		t.File = filepath.Join(stateDir, settings.FileName)
	}
	if t.Dir == "" && len(traceDirs) > 0 {
		t.Dir = traceDirs[0]
	}
	if t.Dir == "" {
		t.Dir = firstConfiguredDir(f)
	}
	if err := t.guard().Validate(); err != nil {
		errs = append(errs, err)
	}
	return t, errors.Join(errs...)
}

// TraceFilesType is the trace-file collector's type, whose first directory
// in the config file is trace control's folder when no collector
// configuration names one.
const TraceFilesType = "tracefiles"

// firstConfiguredDir is the first directory of the tracefiles collector in
// the config file, if any.
func firstConfiguredDir(f File) string {
	if dirs, ok := f.Collectors[TraceFilesType]["dirs"].([]any); ok && len(dirs) > 0 {
		if s, ok := dirs[0].(string); ok {
			return s
		}
	}
	return ""
}

// newTraceController builds the agent's trace controller (nil when off).
func (a *Agent) newTraceController(js jetstream.JetStream, sink collectors.Sink, reg prometheus.Registerer) (*tracectl.Controller, error) {
	t := a.o.TraceControl
	if a.spec.none {
		// No CRM roles, so no CRM platform tracing to control.
		return nil, nil
	}
	var ap tracectl.Applier
	switch t.Store {
	case TraceStoreOff:
		return nil, nil
	case TraceStoreRegistry:
		ap = tracectl.NewMSCRMRegistryApplier()
	default:
		ap = &tracectl.FileApplier{Path: t.File}
	}
	if t.Dir == "" {
		a.log.Warn("trace control has no trace folder: the disk guard and the confirmation by new trace files are off (pass --trace-dir)")
	}
	c, err := tracectl.NewController(tracectl.ControllerOptions{
		Host: a.o.Name, Roles: event.RoleStrings(a.Roles().Roles()), JS: js, Names: a.names, Applier: ap, StateDir: a.o.StateDir,
		TraceDir: t.Dir, Guard: t.guard(), Sink: sink, Registerer: reg, Logger: a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return c, nil
}
