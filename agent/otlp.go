package agent

import (
	"errors"
	"fmt"
	"strings"

	"crmwatch/collectors"
	"crmwatch/tracing/otlp"
)

// otlpTarget is a collector configuration that can also export what it
// collects over OTLP (tracefiles.Config).
type otlpTarget interface {
	collectors.Config
	SetOTLP(endpoint string, headers []otlp.Header)
}

// ParseHeaders parses repeated NAME=VALUE flags (--otlp-header). Errors
// name the flag's position and the header name, never a value.
func ParseHeaders(flags []string) ([]otlp.Header, error) {
	var out []otlp.Header
	var errs []error
	for i, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Errorf("--otlp-header #%d: want NAME=VALUE (the value is not shown)", i+1))
			continue
		}
		out = append(out, otlp.Header{Name: name, Value: otlp.Secret(value)})
	}
	return out, errors.Join(errs...)
}

// setOTLP applies --otlp and --otlp-header to the tracefiles collector,
// over its file configuration, and validates the result.
func setOTLP(configs map[string]collectors.Config, endpoint string, headers []otlp.Header) error {
	if endpoint == "" {
		if len(headers) > 0 {
			return errors.New("--otlp-header: needs --otlp URL")
		}
		return nil
	}
	cfg, ok := configs[TraceFilesType]
	if !ok {
		return fmt.Errorf("--otlp: the %s collector is not enabled (pass --trace-dir or list it in --config)", TraceFilesType)
	}
	t, ok := cfg.(otlpTarget)
	if !ok {
		return fmt.Errorf("--otlp: the %s collector of this build cannot export OTLP", TraceFilesType)
	}
	t.SetOTLP(endpoint, headers)
	if err := t.Validate(); err != nil {
		return fmt.Errorf("--otlp: collectors.%s: %w", TraceFilesType, err)
	}
	return nil
}
