package agent

import (
	"errors"
	"fmt"
	"strings"
)

// Shortcuts are the documented agent flags that stand for --set keys of
// the trace-file collector, kept because they are what an operator types
// most. They are applied after --set.
type Shortcuts struct {
	// TraceDirs (--trace-dir, repeatable) is collectors.tracefiles.dirs.
	TraceDirs []string
	// OTLP (--otlp URL) is collectors.tracefiles.otlp.endpoint.
	OTLP string
	// OTLPHeaders (--otlp-header NAME=VALUE, repeatable) is
	// collectors.tracefiles.otlp.headers: exactly these headers, replacing
	// the file's, so a key meant for one receiver never reaches another.
	OTLPHeaders []string
}

// Overrides returns the shortcuts as overrides. Header errors name the
// flag's position, never a value.
func (s Shortcuts) Overrides() ([]Override, error) {
	var out []Override
	if len(s.TraceDirs) > 0 {
		dirs := make([]any, len(s.TraceDirs))
		for i, d := range s.TraceDirs {
			dirs[i] = d
		}
		out = append(out, Override{Key: "collectors.tracefiles.dirs", Value: dirs, Flag: "--trace-dir"})
	}
	if s.OTLP != "" {
		out = append(out, Override{Key: "collectors.tracefiles.otlp.endpoint", Value: s.OTLP, Flag: "--otlp"})
	}
	if len(s.OTLPHeaders) == 0 {
		return out, nil
	}
	headers := map[string]any{}
	var errs []error
	for i, h := range s.OTLPHeaders {
		name, value, ok := strings.Cut(h, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Errorf("--otlp-header #%d: want NAME=VALUE (the value is not shown)", i+1))
			continue
		}
		headers[name] = value
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return append(out, Override{Key: "collectors.tracefiles.otlp.headers", Value: headers, Flag: "--otlp-header"}), nil
}

// TraceDirOverrides is --trace-dir for callers that build Options in code
// (the demo, tests).
func TraceDirOverrides(dirs ...string) []Override {
	ovs, _ := Shortcuts{TraceDirs: dirs}.Overrides() // only headers can fail
	return ovs
}
