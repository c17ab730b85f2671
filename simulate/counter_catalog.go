package simulate

import "crmwatch/event"

// The performance counters a simulated CRM server shows: the objects and
// counters of the PAL threshold files (crm-domain §4.1, §4.2) that the
// built-in pack watches, per role, with healthy values at the quietest
// and the busiest hour and what each fault does to them. Healthy values
// stay on the good side of every PAL threshold, so a farm without faults
// raises no counter alert; TestCountersHealthyAndFaulted checks it against
// the pack itself.

// counterKind says how a counter behaves over time.
type counterKind uint8

const (
	// gauge: a level that follows the daily and weekly load.
	gauge counterKind = iota
	// cumulative: a count that only grows (failure counters), at a rate
	// per second that follows the load and the faults.
	cumulative
)

// simCounter is one counter of an object.
type simCounter struct {
	name        string
	kind        counterKind
	quiet, busy float64 // gauge: the value at the quietest / busiest hour; cumulative: increments per second
	growth      float64 // relative change per simulated day (capacity trends)
	noise       float64 // relative sample-to-sample noise
	max         float64 // cap (percentages), 0 = none
	faults      []faultEffect
}

// faultEffect is what an active fault does to a counter: a gauge moves to
// value (over faultRamp), a cumulative counter grows by rate per second.
// onSQL limits the effect to the SQL server of the faulted organizations.
type faultEffect struct {
	fault string
	value float64
	rate  float64
	onSQL bool
}

// simObject is a counter object present on hosts with one of roles (nil:
// every host), with its instances for a host (nil func: no instances).
type simObject struct {
	name      string
	roles     []event.Role
	instances func(h *counterHost) []string
	counters  []simCounter
	// failures: any other counter of the object whose name says it counts
	// failures or errors is a cumulative counter that stays at 0 (the many
	// "<operation> Operations Failed" counters of the async service).
	failures bool
}

var (
	frontEndRoles = []event.Role{RoleAppServer, RoleSdkServer, RoleDiscoveryService, RoleHelpServer}
	webRoles      = append(frontEndRoles[:len(frontEndRoles):len(frontEndRoles)], RoleDeploymentService)
)

func g(name string, quiet, busy, noise float64, effects ...faultEffect) simCounter {
	return simCounter{name: name, kind: gauge, quiet: quiet, busy: busy, noise: noise, faults: effects}
}

func cum(name string, effects ...faultEffect) simCounter {
	return simCounter{name: name, kind: cumulative, faults: effects}
}

func onSQL(fault string, value float64) faultEffect {
	return faultEffect{fault: fault, value: value, onSQL: true}
}
func set(fault string, value float64) faultEffect { return faultEffect{fault: fault, value: value} }
func rise(fault string, rate float64) faultEffect { return faultEffect{fault: fault, rate: rate} }

func fixed(names ...string) func(*counterHost) []string {
	return func(*counterHost) []string { return names }
}

var simObjects = []simObject{
	{name: "Processor", instances: fixed("_Total", "0", "1", "2", "3"), counters: []simCounter{
		g("% Processor Time", 4, 36, 0.08, onSQL(FaultSlowQueries, 46)),
		g("% Privileged Time", 1.5, 8, 0.1),
		g("% Interrupt Time", 0.2, 1.2, 0.15),
		g("% DPC Time", 0.2, 1.0, 0.15),
		g("% User Time", 2.5, 28, 0.08),
	}},
	{name: "System", counters: []simCounter{
		g("Processor Queue Length", 0, 3, 0.3),
		g("Context Switches/sec", 2500, 14000, 0.1),
	}},
	{name: "Memory", counters: []simCounter{
		{name: "Available MBytes", kind: gauge, quiet: 9200, busy: 6100, growth: -0.002, noise: 0.02},
		g("% Committed Bytes In Use", 41, 57, 0.02),
		g("Pages/sec", 15, 180, 0.25),
		g("Pages Input/sec", 4, 55, 0.25),
		g("Free System Page Table Entries", 33_554_000, 33_550_000, 0.0001),
		g("Pool Paged Bytes", 380e6, 440e6, 0.01),
		g("Pool Nonpaged Bytes", 160e6, 190e6, 0.01),
		g("Long-Term Average Standby Cache Lifetime (s)", 14400, 13000, 0.01),
	}},
	{name: "Paging File", instances: fixed("_Total"), counters: []simCounter{g("% Usage", 4, 8, 0.05)}},
	{name: "LogicalDisk", instances: fixed("C:", "D:", "_Total"), counters: []simCounter{
		{name: "% Free Space", kind: gauge, quiet: 46, busy: 45.5, growth: -0.004, noise: 0.002},
		{name: "Free Megabytes", kind: gauge, quiet: 58000, busy: 57400, growth: -0.004, noise: 0.002},
		g("Avg. Disk sec/Read", 0.003, 0.008, 0.15, onSQL(FaultSlowQueries, 0.013)),
		g("Avg. Disk sec/Write", 0.002, 0.006, 0.15),
		g("Avg. Disk sec/Transfer", 0.0025, 0.007, 0.15),
		g("Avg. Disk Queue Length", 0.05, 0.8, 0.2),
		g("% Idle Time", 97, 72, 0.03),
		g("Disk Reads/sec", 3, 140, 0.2),
	}},
	{name: "Network Interface", instances: fixed("Microsoft Hyper-V Network Adapter"), counters: []simCounter{
		g("Bytes Total/sec", 40e3, 9e6, 0.15),
		g("Output Queue Length", 0, 0, 0),
		g("Packets Outbound Errors", 0, 0, 0),
	}},
	{name: "TCPv4", counters: []simCounter{g("Connection Failures", 4, 4, 0), g("Connections Established", 60, 900, 0.1)}},
	{name: "Process", instances: processInstances, counters: []simCounter{
		g("Private Bytes", 640e6, 830e6, 0.015),
		g("Handle Count", 1800, 2000, 0.004),
		g("Thread Count", 55, 80, 0.02),
		g("% Processor Time", 1, 30, 0.1),
	}},

	{name: "CRM Server", roles: frontEndRoles, instances: fixed("CRMWeb"), failures: true, counters: []simCounter{
		cum("Failed Organization Service Requests", rise(FaultSQLTimeouts, 0.3), rise(FaultWebErrors, 0.2), rise(FaultPrivilegeErrors, 0.05)),
		cum("Failed Internal Organization Service Requests", rise(FaultSQLTimeouts, 0.1)),
		g("Script Error Reports", 2, 20, 0.2),
		g("Time Spent In Organization Service Metadata Requests", 2, 40, 0.2),
		g("Time Spent In Internal Organization Service Requests", 5, 120, 0.2),
	}},
	{name: "CRM Authentication", roles: frontEndRoles, counters: []simCounter{
		g("ClaimsAuthenticationFailuresInTheLastMinute", 0, 1, 0.5, set(FaultAuthFailures, 46)),
		g("WindowsAuthenticationFailuresInTheLastMinute", 0, 1, 0.5, set(FaultAuthFailures, 38)),
		g("ConfigDBWindowsAuthenticationFailuresInTheLastMinute", 0, 0, 0),
		g("CrmPostAuthenticationFailuresInTheLastMinute", 0, 0, 0),
	}},
	{name: "CRM Discovery", roles: []event.Role{RoleDiscoveryService}, failures: true},
	{name: "CRM LocatorService", roles: frontEndRoles, failures: true},
	{name: "CRM Sandbox Client", roles: frontEndRoles, instances: fixed("w3wp"), failures: true, counters: []simCounter{
		{name: "% Execute Failures", kind: cumulative, max: 100, faults: []faultEffect{rise(FaultSandboxCrash, 0.05)}},
	}},
	{name: "ASP.NET Apps v4.0.30319", roles: webRoles, instances: fixed("__Total__"), counters: []simCounter{
		g("Request Execution Time", 110, 460, 0.15, set(FaultSlowQueries, 6300)),
		g("Requests In Application Queue", 0, 0.6, 0.3, set(FaultSlowQueries, 4)),
	}},
	{name: "ASP.NET v4.0.30319", roles: webRoles, counters: []simCounter{g("Application Restarts", 0, 0, 0)}},
	{name: "APP_POOL_WAS", roles: webRoles, instances: appPools, counters: []simCounter{g("Recent Worker Process Failures", 0, 0, 0)}},

	{name: "CRM Async Service", roles: []event.Role{RoleAsyncService}, failures: true,
		instances: fixed("mscrmasyncservice", "mscrmasyncservice$maintenance"), counters: []simCounter{
			g("Workflow Operations Outstanding", 4, 45, 0.15, set(FaultAsyncBacklog, 460)),
			g("Workflow Operations Executing", 1, 18, 0.15, set(FaultAsyncBacklog, 24)),
			g("Workflow Operations Completion Throughput", 0.1, 9, 0.15, set(FaultAsyncBacklog, 0.4)),
			cum("Workflow Operations Failed", rise(FaultAsyncBacklog, 0.2)),
		}},
	{name: "CRM Sandbox Host", roles: []event.Role{RoleSandboxService}, failures: true, counters: []simCounter{
		g("% CPU Usage", 3, 24, 0.15),
		{name: "% Worker Processes Crashed", kind: cumulative, max: 100, faults: []faultEffect{rise(FaultSandboxCrash, 0.05)}},
		g("% Assembly Cache Hits", 98, 99, 0.005),
	}},

	{name: "SQLServer:Buffer Manager", roles: []event.Role{RoleSqlServer}, counters: []simCounter{
		g("Buffer cache hit ratio", 99.9, 99.5, 0.001, onSQL(FaultSlowQueries, 96)),
		g("Page life expectancy", 3600, 2400, 0.05, onSQL(FaultSlowQueries, 150)),
		g("Free pages", 16000, 11000, 0.05),
		g("Lazy writes/sec", 0, 4, 0.2),
		g("Free list stalls/sec", 0, 0, 0),
		g("Page reads/sec", 6, 45, 0.15, onSQL(FaultSlowQueries, 140)),
		g("Page writes/sec", 4, 40, 0.15),
	}},
	{name: "SQLServer:Memory Manager", roles: []event.Role{RoleSqlServer}, counters: []simCounter{g("Memory Grants Pending", 0, 0, 0)}},
	{name: "SQLServer:SQL Statistics", roles: []event.Role{RoleSqlServer}, counters: []simCounter{
		g("Batch Requests/sec", 60, 620, 0.1),
		g("SQL Compilations/sec", 1, 6, 0.15),
		g("SQL Re-Compilations/sec", 0.1, 1.5, 0.2),
		g("SQL Attention rate", 0, 0, 0, onSQL(FaultSQLTimeouts, 0.5)),
	}},
	{name: "SQLServer:SQL Errors", roles: []event.Role{RoleSqlServer}, instances: fixed("_Total"), counters: []simCounter{
		g("Errors/sec", 0, 0, 0, onSQL(FaultSQLTimeouts, 0.6)),
	}},
	{name: "SQLServer:Locks", roles: []event.Role{RoleSqlServer}, instances: fixed("_Total"), counters: []simCounter{
		g("Lock Wait Time (ms)", 0, 0, 0, onSQL(FaultSlowQueries, 640), onSQL(FaultSQLTimeouts, 820)),
		g("Lock Timeouts/sec", 0, 0, 0, onSQL(FaultSQLTimeouts, 3)),
		g("Number of Deadlocks/sec", 0, 0, 0),
		g("Lock Waits/sec", 0, 0, 0, onSQL(FaultSlowQueries, 15), onSQL(FaultSQLTimeouts, 22)),
	}},
	{name: "SQLServer:Latches", roles: []event.Role{RoleSqlServer}, counters: []simCounter{
		g("Total Latch Wait Time (ms)", 15, 120, 0.2),
		g("Average Latch Wait Time (ms)", 1, 4, 0.15, onSQL(FaultSlowQueries, 14)),
	}},
	{name: "SQLServer:Access Methods", roles: []event.Role{RoleSqlServer}, counters: []simCounter{
		g("Page Splits/sec", 0.3, 3, 0.2),
		g("Workfiles Created/sec", 0.1, 2, 0.2),
		g("Worktables Created/sec", 0.5, 8, 0.2, onSQL(FaultSlowQueries, 31)),
		g("Forwarded Records/sec", 0.3, 4, 0.2),
		g("FreeSpace Scans/sec", 0.1, 3, 0.2),
		g("Table Lock Escalations/sec", 0, 2, 0.3),
	}},
	{name: "SQLServer:Databases", roles: []event.Role{RoleSqlServer}, instances: databases, counters: []simCounter{
		g("Percent Log Used", 18, 44, 0.05),
		g("Log Growths", 0, 0, 0),
		g("Log Shrinks", 0, 0, 0),
		g("Log Flush Waits/sec", 0, 0, 0),
	}},
	{name: "SQLServer:General Statistics", roles: []event.Role{RoleSqlServer}, counters: []simCounter{
		g("Logins/sec", 0.05, 0.8, 0.2),
		g("Logouts/sec", 0.05, 0.8, 0.2),
	}},
}

// processInstances are the processes of a host's roles as Windows names
// them (two IIS worker processes on a web server: CRMAppPool and another).
func processInstances(h *counterHost) []string {
	out := []string{"System", "lsass", "svchost", "svchost#1"}
	if h.hasAny(webRoles...) {
		out = append(out, "w3wp", "w3wp#1")
	}
	if h.has(RoleAsyncService) {
		out = append(out, "CrmAsyncService", "CrmAsyncService#1")
	}
	if h.has(RoleSandboxService) {
		out = append(out, "Microsoft.Crm.Sandbox.HostService", "Microsoft.Crm.Sandbox.WorkerProcess")
	}
	if h.has(RoleSqlServer) {
		out = append(out, "sqlservr")
	}
	return out
}

// appPools are the IIS application pools CRM Setup creates (§1.5).
func appPools(h *counterHost) []string {
	var out []string
	if h.hasAny(frontEndRoles...) {
		out = append(out, "CRMAppPool")
	}
	if h.has(RoleDeploymentService) {
		out = append(out, "CRMDeploymentServiceAppPool")
	}
	return out
}

// databases are MSCRM_CONFIG and the organization databases of a SQL
// server, plus SQL Server's _Total.
func databases(h *counterHost) []string {
	out := []string{"_Total", "MSCRM_CONFIG"}
	return append(out, h.databases...)
}
