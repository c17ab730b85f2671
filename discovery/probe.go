package discovery

import (
	"context"
	"fmt"

	"crmwatch/event"
)

// Probe is what Windows discovery reads; probe_windows.go implements it
// over the registry, the service manager and IIS's configuration, tests
// fake it.
type Probe interface {
	// KeyExists reports whether HKLM\path exists.
	KeyExists(ctx context.Context, path string) (bool, error)
	// ServiceInstalled reports whether a Windows service of that name is
	// installed (running or not).
	ServiceInstalled(ctx context.Context, name string) (bool, error)
	// AppPools lists the IIS application pools.
	AppPools(ctx context.Context) ([]string, error)
}

// crmKey is the CRM server's registry key (crm-domain §1.5, §3.1).
const crmKey = `SOFTWARE\Microsoft\MSCRM`

// serviceRoles are the CRM services installed with a role (crm-domain
// §1.5: MSCRMAsyncService, MSCRMSandboxService, the E-mail Router service
// MSCRMEmail) and SQL Server's default instance.
var serviceRoles = []struct {
	service string
	role    event.Role
}{
	{"MSCRMAsyncService", event.RoleAsyncService},
	{"MSCRMSandboxService", event.RoleSandboxService},
	{"MSCRMEmail", event.RoleEmailRouter},
	{"MSSQLSERVER", event.RoleSqlServer},
}

// appPoolRoles are the IIS application pools CRM Setup creates (§1.5):
// CRMAppPool serves the web application and the Organization, Discovery
// and Help services of the Front End Server group; the deployment web
// service has its own pool.
var appPoolRoles = []struct {
	pool  string
	roles []event.Role
}{
	{"CRMAppPool", []event.Role{event.RoleAppServer, event.RoleSdkServer, event.RoleDiscoveryService, event.RoleHelpServer}},
	{"CRMDeploymentServiceAppPool", []event.Role{event.RoleDeploymentService}},
}

// reportingKey is the SSRS Data Connector's (Reporting Extensions) key.
const reportingKey = `SOFTWARE\Microsoft\MSCRMBidsExtensions`

// probeRoles asks the probe for each piece of evidence; a probe that fails
// becomes a note, not an error.
func probeRoles(ctx context.Context, p Probe) ([]Finding, []string) {
	var out []Finding
	var notes []string
	note := func(what string, err error) { notes = append(notes, fmt.Sprintf("%s: %v", what, err)) }
	crm, err := p.KeyExists(ctx, crmKey)
	if err != nil {
		note(`registry HKLM\`+crmKey, err)
	}
	for _, s := range serviceRoles {
		ok, err := p.ServiceInstalled(ctx, s.service)
		if err != nil {
			note("service "+s.service, err)
			continue
		}
		if ok {
			out = append(out, Finding{Role: s.role, How: "service " + s.service})
		}
	}
	if crm {
		pools, err := p.AppPools(ctx)
		if err != nil {
			note("IIS application pools", err)
		}
		for _, ap := range appPoolRoles {
			for _, name := range pools {
				if name == ap.pool {
					for _, r := range ap.roles {
						out = append(out, Finding{Role: r, How: "IIS application pool " + ap.pool + ` (HKLM\` + crmKey + " present)"})
					}
				}
			}
		}
	}
	if ok, err := p.KeyExists(ctx, reportingKey); err != nil {
		note(`registry HKLM\`+reportingKey, err)
	} else if ok {
		out = append(out, Finding{Role: event.RoleReportingServer, How: `registry HKLM\` + reportingKey})
	}
	return out, notes
}
