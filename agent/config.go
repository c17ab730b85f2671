package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"

	"crmwatch/collectors"
)

// File is the agent's YAML configuration file:
//
//	collectors:
//	  tracefiles:
//	    dirs: ['C:\Program Files\Microsoft Dynamics CRM\Trace']
//	trace_control:          # optional; see TraceControl (flags win)
//	  quota_mb: 4096
//	  min_free_percent: 15
//
// Each key under collectors is a collector type; its body is decoded over
// that factory's DefaultConfig (unknown fields are errors) and validated.
// A collector runs only if it is listed.
type File struct {
	Collectors map[string]map[string]any `yaml:"collectors"`
	// TraceControl configures remote trace control (see TraceControl);
	// command-line flags win over it.
	TraceControl *TraceControl `yaml:"trace_control"`
}

// ReadFile reads and parses path; an empty path is an empty file.
func ReadFile(path string) (File, error) {
	if path == "" {
		return File{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("agent config: %w", err)
	}
	f, err := ParseFile(data)
	if err != nil {
		return File{}, fmt.Errorf("agent config %s: %w", path, err)
	}
	return f, nil
}

// ParseFile parses the YAML of a config file strictly.
func ParseFile(data []byte) (File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return File{}, fmt.Errorf("parse YAML: %w", err)
	}
	return f, nil
}

// SetTraceDirs makes the command line's --trace-dir win over the file: it
// enables the tracefiles collector with exactly these directories.
func (f *File) SetTraceDirs(dirs []string) {
	if len(dirs) == 0 {
		return
	}
	if f.Collectors == nil {
		f.Collectors = make(map[string]map[string]any)
	}
	body := f.Collectors[TraceFilesType]
	if body == nil {
		body = make(map[string]any)
	}
	body["dirs"] = dirs
	f.Collectors[TraceFilesType] = body
}

// TraceFilesType is the trace-file collector's type, which --trace-dir configures.
const TraceFilesType = "tracefiles"

// Configs decodes every listed collector over its factory's defaults and
// validates it. It reports every problem at once: unknown collector types,
// undecodable bodies and each Validate error.
func (f File) Configs(reg *collectors.Registry) (map[string]collectors.Config, error) {
	types := make([]string, 0, len(f.Collectors))
	for t := range f.Collectors {
		types = append(types, t)
	}
	sort.Strings(types)
	out := make(map[string]collectors.Config, len(types))
	var errs []error
	for _, typ := range types {
		fac, ok := reg.Factory(typ)
		if !ok {
			errs = append(errs, fmt.Errorf("collectors.%s: unknown collector type (this agent has: %v)", typ, reg.Types()))
			continue
		}
		cfg, err := decodeOver(fac.DefaultConfig(), f.Collectors[typ])
		if err != nil {
			errs = append(errs, fmt.Errorf("collectors.%s: %w", typ, err))
			continue
		}
		if err := cfg.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("collectors.%s: %w", typ, err))
			continue
		}
		out[typ] = cfg
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeOver decodes body into cfg (a pointer), strictly, keeping defaults
// for fields body does not mention.
func decodeOver(cfg collectors.Config, body map[string]any) (collectors.Config, error) {
	if len(body) == 0 {
		return cfg, nil
	}
	data, err := yaml.Marshal(body)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
