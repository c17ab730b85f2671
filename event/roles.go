package event

// Roles are CRM's own server-role names, the only ones agents announce and
// packs use (the one list; agent.Roles and packs.Roles are this).
var Roles = []string{
	"AppServer", "HelpServer", "SdkServer", "AsyncService", "SandboxService",
	"DeploymentService", "DiscoveryService", "EmailRouter", "SqlServer", "ReportingServer",
}
