package main

// Roles of the CRM front end (crm-domain §1.5 role groups: Web Application
// Server, Organization Web Service, Discovery Web Service, Help Server).
var frontEnd = []string{"AppServer", "SdkServer", "DiscoveryService", "HelpServer"}

// objectInfo is what the generator knows about one CRM counter object.
type objectInfo struct {
	slug       string
	roles      []string
	resolution string
}

const traceHint = "Read the CRM platform trace of the server (C:\\Program Files\\Microsoft Dynamics CRM\\Trace) " +
	"around the time of the alert; if tracing is off, turn it on for this host only with " +
	"the registry values under HKLM\\SOFTWARE\\Microsoft\\MSCRM (TraceEnabled=1, TraceCategories=*:Error, then change TraceRefresh so the server re-reads them; KB 907490), and turn it off again afterwards (verbose tracing costs performance). "

// objects maps a PAL counter object to its rule-id slug, roles and the
// resolution an operator follows.
var objects = map[string]objectInfo{
	"CRM Server": {"server", frontEnd, traceHint +
		"Failed requests are time-outs or SOAP failures: check the SQL Server of the organization (SQL request time-out 30 s, OLEDBTimeout 30 s), " +
		"the CRMAppPool worker process and IIS (executionTimeout 300 s), and the MSCRMPlatform / MSCRMWebService event-log entries of the same minutes."},
	"CRM Authentication": {"authentication", frontEnd,
		"The counter covers the whole deployment, all organizations. Check the identity provider (Active Directory; for claims " +
			"authentication the claims provider and its certificates), the service accounts (a CRM service account that is not in " +
			"PrivUserGroup is refused: trace message \"is not in PrivUserGroup\"), and whether one client is retrying with bad credentials."},
	"CRM Discovery": {"discovery", []string{"DiscoveryService"}, traceHint +
		"Check the Discovery Web Service application in IIS and that MSCRM_CONFIG is reachable from this server (the configdb connection string in HKLM\\SOFTWARE\\Microsoft\\MSCRM)."},
	"CRM LocatorService": {"locator", frontEnd, traceHint +
		"Cache flush requests reach every server of the deployment; check that the other CRM servers are up and reachable, and MSCRM_CONFIG connectivity."},
	"CRM Sandbox Client": {"sandbox-client", frontEnd, traceHint +
		"Check the Sandbox Processing Service (MSCRMSandboxService) on the sandbox servers and its event-log source MSCRMSandboxClient " +
		"(event 20242 with AddressAlreadyInUseException means the net.tcp CrmSandboxSdkListener port is taken by another w3wp). " +
		"Failures of custom plug-ins show in the Sandbox trace category."},
	"CRM Sandbox Host": {"sandbox-host", []string{"SandboxService"}, traceHint +
		"Sandbox worker processes are terminated for excessive resource usage or no response: find the plug-in assembly in the Sandbox " +
		"trace category, and check CPU and memory of the sandbox server."},
	"CRM Async Service": {"async", []string{"AsyncService"}, traceHint +
		"Check that the services MSCRMAsyncService and MSCRMAsyncService$maintenance run. The async service retries SQL exceptions " +
		"(80040216), server busy (8004A001), network and HTTP failures (80044306) and disabled organizations (8004A104/8004A107); it fails " +
		"jobs on an infinite loop (80044182) or InvalidPluginExecutionException (80040265) and suspends workflows on record not found " +
		"(80045031) or a paused workflow system (80045017). Look up the failed system jobs of the organization and the Platform.Async / Platform.Workflow trace categories."},
}

// objectCause explains the PAL pattern for failure counters.
const trendCause = "PAL (Dynamics CRM 2013 threshold files) treats this cumulative failure counter as Warning when it " +
	"increased at all and Critical when it keeps increasing over the last samples."

const transientCause = "Transient errors are retried by CRM; PAL keeps this counter at Warning even when it keeps rising, so it never goes critical."
