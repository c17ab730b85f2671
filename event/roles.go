package event

// Roles are the role names of AllRoles, for code that keeps roles as
// strings (rule scopes, registrations); the one list is allRoles.
var Roles = RoleNames()
