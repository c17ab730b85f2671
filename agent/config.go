package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"

	"crmwatch/agent/spool"
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
	// Spool bounds the disk spool of collectors whose observations cannot
	// be read again (see Spool).
	Spool *Spool `yaml:"spool"`
}

// Spool configures the agent's disk spool (package agent/spool) in
// <state>/spool: SNMP traps and other volatile observations wait there
// while the centre is unreachable.
type Spool struct {
	// MaxMB bounds it on disk (default 256; 1–65536). When full it drops
	// verbose, then info, then warning events, never error or critical.
	MaxMB int `yaml:"max_mb"`
}

// spoolMaxBytes is the configured bound, or the default.
func (f File) spoolMaxBytes() (int64, error) {
	if f.Spool == nil || f.Spool.MaxMB == 0 {
		return spool.DefaultMaxBytes, nil
	}
	if f.Spool.MaxMB < 1 || f.Spool.MaxMB > 65536 {
		return 0, fmt.Errorf("spool.max_mb %d: want 1 to 65536 (MiB on disk)", f.Spool.MaxMB)
	}
	return int64(f.Spool.MaxMB) << 20, nil
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

// Configs decodes every listed collector over its factory's defaults,
// adds what plan (the packs' collection for this host's roles) asks of
// collectors that take plans, and validates each. A collector runs if the
// file lists it or the plan asks it to collect something. It reports every
// problem at once: unknown collector types, undecodable bodies and each
// Validate error.
func (f File) Configs(reg *collectors.Registry, plan collectors.Plan) (map[string]collectors.Config, error) {
	out := make(map[string]collectors.Config, len(f.Collectors))
	errs := []error{f.unknownTypes(reg)}
	for _, typ := range reg.Types() {
		fac, _ := reg.Factory(typ)
		body, listed := f.Collectors[typ]
		cfg, err := decodeOver(fac.DefaultConfig(), body)
		if err != nil {
			errs = append(errs, fmt.Errorf("collectors.%s: %w", typ, err))
			continue
		}
		asked := false
		if p, ok := cfg.(collectors.Planned); ok && !plan.IsZero() {
			asked = p.ApplyPlan(plan)
		}
		if !listed && !asked {
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

// unknownTypes reports every collector type the registry does not have.
func (f File) unknownTypes(reg *collectors.Registry) error {
	types := make([]string, 0, len(f.Collectors))
	for t := range f.Collectors {
		types = append(types, t)
	}
	sort.Strings(types)
	var errs []error
	for _, typ := range types {
		if _, ok := reg.Factory(typ); !ok {
			errs = append(errs, fmt.Errorf("collectors.%s: unknown collector type (this agent has: %v)", typ, reg.Types()))
		}
	}
	return errors.Join(errs...)
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
