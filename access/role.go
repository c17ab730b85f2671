// Package access decides who gets in: operators only. It holds the roles and
// what each may do, the operator tokens (a secret type that never prints,
// stored only as a SHA-256 hash), and the HTTP middleware every non-health
// route goes through.
//
// There is no customer or tenant principal and no code path that could make
// one: the only roles are admin, operator and readonly, the store's schema
// refuses any other, and the middleware refuses an operator whose stored role
// does not parse.
package access

import (
	"fmt"
	"strings"
)

// Role is what an operator is allowed to do.
type Role string

// The roles, most powerful first.
const (
	// RoleAdmin may do everything, including managing operators.
	RoleAdmin Role = "admin"
	// RoleOperator may read, acknowledge and resolve alerts, and change
	// trace settings.
	RoleOperator Role = "operator"
	// RoleReadonly may only read.
	RoleReadonly Role = "readonly"
)

// Roles lists every role; nothing else is ever accepted.
func Roles() []Role { return []Role{RoleAdmin, RoleOperator, RoleReadonly} }

// ParseRole accepts exactly admin, operator or readonly (case-insensitive,
// "read-only" too).
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return RoleAdmin, nil
	case "operator":
		return RoleOperator, nil
	case "readonly", "read-only":
		return RoleReadonly, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, operator or readonly; there are no customer roles)", s)
}

// Permission is one kind of action a route performs.
type Permission string

// Permissions, from the least to the most powerful.
const (
	// PermRead: alerts, agents, metrics, trace status.
	PermRead Permission = "read"
	// PermAlertWrite: acknowledge and resolve alerts.
	PermAlertWrite Permission = "alerts.write"
	// PermTraceWrite: turn CRM platform tracing on or off.
	PermTraceWrite Permission = "trace.write"
	// PermTraceNoExpiry: trace settings that never expire (--no-expiry).
	PermTraceNoExpiry Permission = "trace.no-expiry"
	// PermAdmin: manage operators, read the audit log.
	PermAdmin Permission = "admin"
)

var grants = map[Role]map[Permission]bool{
	RoleAdmin:    {PermRead: true, PermAlertWrite: true, PermTraceWrite: true, PermTraceNoExpiry: true, PermAdmin: true},
	RoleOperator: {PermRead: true, PermAlertWrite: true, PermTraceWrite: true},
	RoleReadonly: {PermRead: true},
}

// Can reports whether the role holds the permission; an unknown role holds
// none.
func (r Role) Can(p Permission) bool { return grants[r][p] }

// Describe says what a permission allows, for error messages.
func (p Permission) Describe() string {
	switch p {
	case PermRead:
		return "read alerts and status"
	case PermAlertWrite:
		return "acknowledge or resolve alerts"
	case PermTraceWrite:
		return "change trace settings"
	case PermTraceNoExpiry:
		return "set trace settings without expiry"
	case PermAdmin:
		return "manage operators and read the audit log"
	}
	return string(p)
}
