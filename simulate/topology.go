package simulate

import (
	"fmt"
	"path/filepath"
	"strings"

	"crmwatch/event"
)

// The CRM roles the simulated hosts run (event.Role is the one role type).
const (
	RoleAppServer         = event.RoleAppServer
	RoleSdkServer         = event.RoleSdkServer
	RoleDiscoveryService  = event.RoleDiscoveryService
	RoleHelpServer        = event.RoleHelpServer
	RoleAsyncService      = event.RoleAsyncService
	RoleSandboxService    = event.RoleSandboxService
	RoleDeploymentService = event.RoleDeploymentService
	RoleSqlServer         = event.RoleSqlServer
)

// Host is one simulated CRM server.
type Host struct {
	Name  string       // e.g. CRMAPP01
	Roles []event.Role // CRM roles
	// TraceDir is <Out>/<Name>/Trace, where its trace files are written.
	TraceDir string
	// EventLogDir is <Out>/<Name>/EventLog, where the CRM event-log
	// entries of the active faults are written as rendered event XML
	// files (the agent's event-log drop folder).
	EventLogDir string
	CRMVersion  string // as in the trace header, e.g. 8.2.0.749
	ScaleGroup  string
}

// crmVersion holds the format differences between CRM releases, each taken
// from a real line of that release (reference §2.2).
type crmVersion struct {
	build string
	// activityID: CRM 2016+ adds |ActivityId: after ReqId (sample b).
	activityID bool
	// padThread: CRM 4.0 and 2016 pad the thread id to 4 columns
	// ("Thread:   19"); CRM 2011 does not ("Thread: 13").
	padThread bool
	// ilSep separates the operation from "ilOffset = 0x..": two spaces in
	// CRM 2016 (sample b), one in CRM 2011 (sample a).
	ilSep string
	// legacy: CRM 4.0 — no ReqId, no ilOffset, fraction of seconds with
	// trailing zeros trimmed (sample e: "35.3"), error bodies as
	// "MSCRM Error Report", no sandbox.
	legacy bool
}

var (
	crm2016 = &crmVersion{build: "8.2.0.749", activityID: true, padThread: true, ilSep: "  "}
	crm2011 = &crmVersion{build: "5.0.9690.4376", ilSep: " "}
	crm40   = &crmVersion{build: "4.0.7333.3822", padThread: true, legacy: true}
	crm2013 = &crmVersion{build: "6.1.0.581", ilSep: " "}
)

// scaleGroupVersions: scale group g runs scaleGroupVersions[g%4]; a hoster
// typically runs several deployments of different releases side by side.
var scaleGroupVersions = []*crmVersion{crm2016, crm2011, crm40, crm2013}

// hostTemplate is one server shape, repeated per scale group.
type hostTemplate struct {
	prefix string
	roles  []event.Role
}

var hostTemplates = []hostTemplate{
	{"CRMAPP", []event.Role{RoleAppServer, RoleSdkServer, RoleDiscoveryService, RoleHelpServer}},
	{"CRMASYNC", []event.Role{RoleAsyncService, RoleSandboxService}},
	{"CRMDEP", []event.Role{RoleDeploymentService}},
}

// procKind is one traced application: a process plus the IIS application or
// service name that appears in the file name (reference §2.3).
type procKind uint8

const (
	procWeb           procKind = iota // w3wp, CRMWeb: web UI, Organization and Discovery services
	procHelp                          // w3wp, Help (same process as CRMWeb, own app domain)
	procDeployment                    // w3wp in CRMDeploymentServiceAppPool
	procAsync                         // CrmAsyncService
	procSandboxHost                   // Microsoft.Crm.Sandbox.HostService
	procSandboxWorker                 // Microsoft.Crm.Sandbox.WorkerProcess
)

type procInfo struct {
	process string
	app     string
	// noSpace writes "Process:name" (sandbox sample d) instead of "Process: name".
	noSpace bool
	// noReqID: the sandbox host writes no ReqId field at all (sample d).
	noReqID bool
	// weight of this application in the host's record mix.
	weight int
}

var procInfos = [...]procInfo{
	procWeb:           {process: "w3wp", app: "CRMWeb", weight: 70},
	procHelp:          {process: "w3wp", app: "Help", weight: 4},
	procDeployment:    {process: "w3wp", app: "DeploymentService", weight: 20},
	procAsync:         {process: "CrmAsyncService", app: "AsyncService", weight: 60},
	procSandboxHost:   {process: "Microsoft.Crm.Sandbox.HostService", app: "SandboxHost", noSpace: true, noReqID: true, weight: 15},
	procSandboxWorker: {process: "Microsoft.Crm.Sandbox.WorkerProcess", app: "SandboxWorker", noSpace: true, noReqID: true, weight: 25},
}

// hostSpec is the static description of host i.
type hostSpec struct {
	Host
	index   int
	version *crmVersion
	procs   []procKind
}

// buildHostSpec returns host i of the farm rooted at out: template i%3 in
// scale group i/3, named <prefix><group+1 two digits>.
func buildHostSpec(out string, i int) hostSpec {
	t := hostTemplates[i%len(hostTemplates)]
	g := i / len(hostTemplates)
	v := scaleGroupVersions[g%len(scaleGroupVersions)]
	name := fmt.Sprintf("%s%02d", t.prefix, g+1)
	roles := t.roles
	if v.legacy {
		roles = legacyRoles(roles)
	}
	h := hostSpec{
		Host: Host{
			Name:        name,
			Roles:       append([]event.Role(nil), roles...),
			TraceDir:    filepath.Join(out, name, "Trace"),
			EventLogDir: filepath.Join(out, name, "EventLog"),
			CRMVersion:  v.build,
			ScaleGroup:  fmt.Sprintf("SG%02d", g+1),
		},
		index:   i,
		version: v,
	}
	h.procs = procsFor(h.Roles)
	return h
}

// legacyRoles drops the roles CRM 4.0 did not have (the sandbox came with
// CRM 2011).
func legacyRoles(roles []event.Role) []event.Role {
	out := make([]event.Role, 0, len(roles))
	for _, r := range roles {
		if r != RoleSandboxService {
			out = append(out, r)
		}
	}
	return out
}

// procsFor lists the traced applications a role mix runs, in a fixed order.
func procsFor(roles []event.Role) []procKind {
	has := func(r event.Role) bool {
		for _, x := range roles {
			if x == r {
				return true
			}
		}
		return false
	}
	var ps []procKind
	if has(RoleAppServer) || has(RoleSdkServer) || has(RoleDiscoveryService) {
		ps = append(ps, procWeb)
	}
	if has(RoleHelpServer) {
		ps = append(ps, procHelp)
	}
	if has(RoleDeploymentService) {
		ps = append(ps, procDeployment)
	}
	if has(RoleAsyncService) {
		ps = append(ps, procAsync)
	}
	if has(RoleSandboxService) {
		ps = append(ps, procSandboxHost, procSandboxWorker)
	}
	return ps
}

// roleList is the ServerRole header value.
func roleList(roles []event.Role) string { return strings.Join(event.RoleStrings(roles), ", ") }
