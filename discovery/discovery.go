// Package discovery finds the CRM roles of the host an agent runs on, and
// says how it found each: on Windows from the CRM registry keys, the
// installed services and the IIS application pools (crm-domain §1.5,
// behind the Probe interface); everywhere from the "# ServerRole:" header
// line of the CRM trace files in the directories the agent tails; and
// from the operator's list. The agent announces the findings in its
// registration, so an operator sees why a host has a role.
package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"crmwatch/event"
)

// Finding is one role and how it was found.
type Finding struct {
	Role event.Role `json:"role"`
	// How names the evidence: "configured (--roles)", "trace header
	// ServerRole of CRMAPP01-w3wp(…)-20261121-1.log", "service
	// MSCRMAsyncService", …
	How string `json:"how"`
}

// Options say where to look.
type Options struct {
	// Configured are the roles the operator listed; always kept.
	Configured []event.Role
	// Auto enables discovery (--roles auto).
	Auto bool
	// TraceDirs are the trace directories the agent tails; their newest
	// files' headers are read.
	TraceDirs []string
	// Pattern selects trace files in TraceDirs ("" = *.log).
	Pattern string
	// Probe reads the Windows registry and service list (nil elsewhere).
	Probe  Probe
	Logger *slog.Logger
}

// Result is what Discover found.
type Result struct {
	Findings []Finding
	// Notes are things an operator should know: header role names that
	// are not CRM roles, sources that could not be read.
	Notes []string
}

// Roles lists the roles found, each once, in the order found.
func (r Result) Roles() []event.Role {
	var out []event.Role
	for _, f := range r.Findings {
		out = event.AddRole(out, f.Role)
	}
	return out
}

// Discover returns the configured roles and, with Auto, the ones the
// Windows probe and the trace headers show. The first evidence of a role
// is kept (configured first, then Windows, then trace headers).
func Discover(ctx context.Context, o Options) Result {
	var res Result
	seen := map[event.Role]bool{}
	add := func(r event.Role, how string) {
		if !seen[r] {
			seen[r] = true
			res.Findings = append(res.Findings, Finding{Role: r, How: how})
		}
	}
	for _, r := range o.Configured {
		add(r, "configured (--roles)")
	}
	if !o.Auto {
		return res
	}
	if o.Probe != nil {
		fs, notes := probeRoles(ctx, o.Probe)
		for _, f := range fs {
			add(f.Role, f.How)
		}
		res.Notes = append(res.Notes, notes...)
	}
	fs, notes := headerRoles(o.TraceDirs, o.Pattern)
	for _, f := range fs {
		add(f.Role, f.How)
	}
	res.Notes = append(res.Notes, notes...)
	if len(res.Findings) == 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("--roles auto found no CRM role (trace directories: %s); "+
			"list the roles, e.g. --roles auto,SqlServer, or point --trace-dir at the CRM trace folder",
			strings.Join(orNone(o.TraceDirs), ", ")))
	}
	return res
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}
