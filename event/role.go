package event

import (
	"errors"
	"fmt"
	"strings"
)

// Role is one of CRM's own server-role names. It is the one role type of
// crmwatch: agents announce roles, packs scope rules and collection by
// them, the simulator gives its hosts role mixes.
type Role string

// The CRM server roles (DESIGN.md: the product's own names).
const (
	RoleAppServer         Role = "AppServer"
	RoleHelpServer        Role = "HelpServer"
	RoleSdkServer         Role = "SdkServer"
	RoleAsyncService      Role = "AsyncService"
	RoleSandboxService    Role = "SandboxService"
	RoleDeploymentService Role = "DeploymentService"
	RoleDiscoveryService  Role = "DiscoveryService"
	RoleEmailRouter       Role = "EmailRouter"
	RoleSqlServer         Role = "SqlServer"
	RoleReportingServer   Role = "ReportingServer"
)

// allRoles is the one list of roles, in documentation order.
var allRoles = []Role{
	RoleAppServer, RoleHelpServer, RoleSdkServer, RoleAsyncService, RoleSandboxService,
	RoleDeploymentService, RoleDiscoveryService, RoleEmailRouter, RoleSqlServer, RoleReportingServer,
}

// AllRoles lists every role in documentation order.
func AllRoles() []Role { return append([]Role(nil), allRoles...) }

// RoleNames lists every role name in documentation order.
func RoleNames() []string {
	out := make([]string, len(allRoles))
	for i, r := range allRoles {
		out[i] = string(r)
	}
	return out
}

// ParseRole accepts a role name in any letter case and returns CRM's
// spelling.
func ParseRole(s string) (Role, error) {
	s = strings.TrimSpace(s)
	for _, r := range allRoles {
		if strings.EqualFold(string(r), s) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (valid: %s)", s, strings.Join(RoleNames(), ", "))
}

// ParseRoles accepts comma-separated role names (any letter case) and
// returns them in CRM's spelling, without duplicates, in the order given.
// Every unknown name is reported.
func ParseRoles(in ...string) ([]Role, error) {
	var out []Role
	var errs []error
	for _, s := range in {
		for _, name := range strings.Split(s, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			r, err := ParseRole(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = AddRole(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// AddRole appends r unless rs holds it already.
func AddRole(rs []Role, r Role) []Role {
	for _, x := range rs {
		if x == r {
			return rs
		}
	}
	return append(rs, r)
}

// RoleStrings converts roles to their names (for JSON, rules and logs).
func RoleStrings(rs []Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
