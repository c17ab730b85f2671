package agent

import (
	"context"
	"errors"
	"strings"

	"crmwatch/collectors"
	"crmwatch/discovery"
	"crmwatch/event"
	"crmwatch/transport"
)

// roleSpec is what --roles says: role names, and whether to discover
// more ("auto").
type roleSpec struct {
	configured []event.Role
	auto       bool
	// none is "--roles none": a host deliberately without CRM roles (the
	// monitoring host itself, a host watched only for its counters), so
	// having none is not a mistake to warn about.
	none bool
}

// parseRoleSpec accepts comma-separated CRM role names (any letter case),
// "auto", or "none" alone. Every unknown name is reported.
func parseRoleSpec(in ...string) (roleSpec, error) {
	var spec roleSpec
	var names []string
	for _, s := range in {
		for _, n := range strings.Split(s, ",") {
			switch {
			case strings.EqualFold(strings.TrimSpace(n), "auto"):
				spec.auto = true
			case strings.EqualFold(strings.TrimSpace(n), "none"):
				spec.none = true
			default:
				names = append(names, n)
			}
		}
	}
	rs, err := event.ParseRoles(names...)
	spec.configured = rs
	if spec.none && (spec.auto || len(names) > 0) {
		return spec, errors.Join(err, errors.New(`--roles none means this host has no CRM roles: give it alone, or name the roles (or "auto") without it`))
	}
	return spec, err
}

// discover runs role discovery over the trace directories the configured
// collectors follow.
func (a *Agent) discover(ctx context.Context, configs map[string]collectors.Config) discovery.Result {
	o := discovery.Options{Configured: a.spec.configured, Auto: a.spec.auto, Probe: a.o.Probe, Logger: a.log}
	if a.spec.auto {
		for _, c := range configs {
			if td, ok := c.(collectors.TraceDirectories); ok {
				dirs, pattern := td.TraceDirectories()
				o.TraceDirs = append(o.TraceDirs, dirs...)
				if o.Pattern == "" {
					o.Pattern = pattern
				}
			}
		}
	}
	return discovery.Discover(ctx, o)
}

// roleFindings converts findings for the registration.
func roleFindings(r discovery.Result) []transport.RoleFinding {
	out := make([]transport.RoleFinding, len(r.Findings))
	for i, f := range r.Findings {
		out[i] = transport.RoleFinding{Role: string(f.Role), How: f.How}
	}
	return out
}
