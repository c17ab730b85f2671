package main

// generic is one counter of crm-domain §4.2 (the PAL files the CRM files
// inherit: QuickSystemOverview/SystemOverview, AspDotNet/IIS, SQLServer2012).
type generic struct {
	file    string // output rules file (without .yaml)
	id      string
	path    string
	op      string // gt (default) or lt
	w, c    string // number or ${expression}; "" = level not used
	agg     string // aggregate (default last)
	window  string
	roles   []string
	meaning string // what a breach means
}

var sqlRoles = []string{"SqlServer"}

var webRoles = []string{"AppServer", "SdkServer", "DiscoveryService", "HelpServer", "DeploymentService"}

// generics: thresholds relative to RAM, CPU count, pool size or PLE health
// use pack parameters (pack.yaml) that overrides set per role, group or host.
var generics = []generic{
	{"windows", "windows.processor-time", `\Processor(_Total)\% Processor Time`, "gt", "50", "80", "", "", nil, "The processors are busy; requests queue and slow down."},
	{"windows", "windows.privileged-time", `\Processor(_Total)\% Privileged Time`, "gt", "20", "30", "", "", nil, "Much CPU time is spent in kernel mode (drivers, paging, antivirus filter drivers)."},
	{"windows", "windows.interrupt-time", `\Processor(_Total)\% Interrupt Time`, "gt", "10", "20", "", "", nil, "Hardware interrupts take much CPU time: a faulty driver or network/storage adapter."},
	{"windows", "windows.dpc-time", `\Processor(_Total)\% DPC Time`, "gt", "10", "", "", "", nil, "Deferred procedure calls take much CPU time: usually network or storage drivers."},
	{"windows", "windows.processor-queue-length", `\System\Processor Queue Length`, "gt", "${2 * cpu_count}", "${10 * cpu_count}", "", "", nil, "More threads wait for a processor than PAL allows (2 and 10 per logical processor; set cpu_count per host)."},
	{"windows", "windows.available-mbytes", `\Memory\Available MBytes`, "lt", "${ram_mb * 0.10}", "${ram_mb * 0.05}", "", "", nil, "Less than 10 % (warning) or 5 % (critical) of physical memory is available (set ram_mb per host)."},
	{"windows", "windows.committed-bytes-in-use", `\Memory\% Committed Bytes In Use`, "gt", "80", "90", "", "", nil, "The commit charge approaches the commit limit; allocations will start to fail."},
	{"windows", "windows.pages-per-sec", `\Memory\Pages/sec`, "gt", "1000", "", "", "", nil, "Heavy hard paging to and from disk."},
	{"windows", "windows.pages-input-per-sec", `\Memory\Pages Input/sec`, "gt", "1000", "", "", "", nil, "Heavy hard page faults read from disk."},
	{"windows", "windows.free-system-page-table-entries", `\Memory\Free System Page Table Entries`, "lt", "20000", "8000", "", "", nil, "Kernel page table entries are running out."},
	{"windows", "windows.pool-paged-bytes", `\Memory\Pool Paged Bytes`, "gt", "${pool_paged_max_mb * 1048576 * 0.6}", "${pool_paged_max_mb * 1048576 * 0.8}", "", "", nil, "Paged pool use is above 60 % / 80 % of its maximum (set pool_paged_max_mb)."},
	{"windows", "windows.pool-nonpaged-bytes", `\Memory\Pool Nonpaged Bytes`, "gt", "${pool_nonpaged_max_mb * 1048576 * 0.6}", "${pool_nonpaged_max_mb * 1048576 * 0.8}", "", "", nil, "Non-paged pool use is above 60 % / 80 % of its maximum (set pool_nonpaged_max_mb): a driver leak is likely."},
	{"windows", "windows.standby-cache-lifetime", `\Memory\Long-Term Average Standby Cache Lifetime (s)`, "lt", "10000", "5000", "", "", nil, "Pages leave the standby cache quickly: memory pressure."},
	{"windows", "windows.paging-file-usage", `\Paging File(_Total)\% Usage`, "gt", "70", "90", "", "", nil, "The paging file is filling up."},
	{"windows", "windows.disk-sec-read", `\LogicalDisk(*)\Avg. Disk sec/Read`, "gt", "0.015", "0.025", "", "", nil, "Disk reads take longer than 15 ms / 25 ms."},
	{"windows", "windows.disk-sec-write", `\LogicalDisk(*)\Avg. Disk sec/Write`, "gt", "0.015", "0.025", "", "", nil, "Disk writes take longer than 15 ms / 25 ms."},
	{"windows", "windows.disk-sec-transfer", `\LogicalDisk(*)\Avg. Disk sec/Transfer`, "gt", "0.015", "0.025", "", "", nil, "Disk transfers take longer than 15 ms / 25 ms."},
	{"windows", "windows.disk-free-percent", `\LogicalDisk(*)\% Free Space`, "lt", "10", "5", "", "", nil, "The disk is almost full."},
	{"windows", "windows.disk-free-megabytes", `\LogicalDisk(*)\Free Megabytes`, "lt", "4000", "500", "", "", nil, "Less than 4000 MB / 500 MB free on the disk."},
	{"windows", "windows.disk-queue-length", `\LogicalDisk(*)\Avg. Disk Queue Length`, "gt", "2", "", "", "", nil, "I/O requests queue on the disk."},
	{"windows", "windows.disk-idle-time", `\LogicalDisk(*)\% Idle Time`, "lt", "10", "", "", "", nil, "The disk is busy more than 90 % of the time."},
	{"windows", "windows.network-utilization", `\Network Interface(*)\% Network Utilization`, "gt", "30", "50", "", "", nil, "The network adapter is more than 30 % / 50 % utilised (PAL derives this value from Bytes Total/sec and Current Bandwidth; the agent must expose it under this path)."},
	{"windows", "windows.network-output-queue-length", `\Network Interface(*)\Output Queue Length`, "gt", "1", "2", "", "", nil, "Packets queue for the network adapter."},
	{"windows", "windows.network-packets-outbound-errors", `\Network Interface(*)\Packets Outbound Errors`, "gt", "", "1", "", "", nil, "The adapter fails to send packets: cabling, switch port or driver."},
	{"windows", "windows.tcpv4-connection-failures", `\TCPv4\Connection Failures`, "gt", "10", "", "", "", nil, "TCP connections fail (refused or reset)."},
	{"windows", "windows.process-private-bytes", `\Process(*)\Private Bytes`, "gt", "1073741824", "", "", "", nil, "A process holds more than 1 GB of private memory."},
	{"windows", "windows.process-private-bytes-growth", `\Process(*)\Private Bytes`, "gt", "104857600", "", "change", "1h", nil, "A process grew its private memory by more than 100 MB within an hour: a possible leak (PAL trend rule)."},
	{"windows", "windows.process-handle-count", `\Process(*)\Handle Count`, "gt", "16384", "", "", "", nil, "A process holds more than 16384 handles."},
	{"windows", "windows.process-handle-count-growth", `\Process(*)\Handle Count`, "gt", "100", "", "change", "1h", nil, "A process opened more than 100 handles within an hour without closing them: a possible handle leak (PAL trend rule)."},
	{"windows", "windows.process-thread-count", `\Process(*)\Thread Count`, "gt", "1000", "", "", "", nil, "A process runs more than 1000 threads."},
	{"windows", "windows.process-thread-count-growth", `\Process(*)\Thread Count`, "gt", "100", "", "change", "1h", nil, "A process started more than 100 threads within an hour: a possible thread leak (PAL trend rule)."},

	{"iis-aspnet", "aspnet.request-execution-time", `\${aspnet_apps_object}(*)\Request Execution Time`, "gt", "5000", "8000", "", "", webRoles, "ASP.NET requests take longer than 5 s / 8 s."},
	{"iis-aspnet", "aspnet.requests-in-application-queue", `\${aspnet_apps_object}(*)\Requests In Application Queue`, "gt", "2", "10", "", "", webRoles, "Requests wait in the ASP.NET application queue."},
	{"iis-aspnet", "aspnet.application-restarts", `\${aspnet_object}\Application Restarts`, "gt", "1", "5", "", "", webRoles, "ASP.NET application domains restart (web.config changes, recycling, crashes); a CRM trace change re-saves web.config, which restarts it once."},
	{"iis-aspnet", "iis.app-pool-recent-worker-process-failures", `\APP_POOL_WAS(*)\Recent Worker Process Failures`, "ge", "1", "", "", "", webRoles, "IIS worker processes of an application pool (CRMAppPool, CRMDeploymentServiceAppPool) failed recently."},

	{"sqlserver", "sql.buffer-cache-hit-ratio", `\${sql_object}:Buffer Manager\Buffer cache hit ratio`, "lt", "97", "90", "", "", sqlRoles, "Pages are read from disk instead of the buffer pool: SQL Server needs memory."},
	{"sqlserver", "sql.page-life-expectancy", `\${sql_object}:Buffer Manager\Page life expectancy`, "lt", "${ple_health_seconds * 0.7}", "${ple_health_seconds * 0.3}", "", "", sqlRoles, "Pages stay in the buffer pool for less than 70 % / 30 % of the healthy page life expectancy (ple_health_seconds)."},
	{"sqlserver", "sql.free-pages", `\${sql_object}:Buffer Manager\Free pages`, "lt", "", "640", "", "", sqlRoles, "The buffer pool has almost no free pages."},
	{"sqlserver", "sql.lazy-writes", `\${sql_object}:Buffer Manager\Lazy writes/sec`, "gt", "", "20", "", "", sqlRoles, "The lazy writer flushes many pages: memory pressure in the buffer pool."},
	{"sqlserver", "sql.free-list-stalls", `\${sql_object}:Buffer Manager\Free list stalls/sec`, "gt", "", "2", "", "", sqlRoles, "Requests wait for a free buffer page."},
	{"sqlserver", "sql.page-reads", `\${sql_object}:Buffer Manager\Page reads/sec`, "gt", "90", "", "", "", sqlRoles, "Many physical page reads: missing indexes or too little memory."},
	{"sqlserver", "sql.page-writes", `\${sql_object}:Buffer Manager\Page writes/sec`, "gt", "90", "", "", "", sqlRoles, "Many physical page writes."},
	{"sqlserver", "sql.memory-grants-pending", `\${sql_object}:Memory Manager\Memory Grants Pending`, "gt", "0", "", "", "", sqlRoles, "Queries wait for a workspace memory grant."},
	{"sqlserver", "sql.batch-requests", `\${sql_object}:SQL Statistics\Batch Requests/sec`, "gt", "1000", "", "", "", sqlRoles, "More than 1000 batches per second reach SQL Server."},
	{"sqlserver", "sql.compilations", `\${sql_object}:SQL Statistics\SQL Compilations/sec`, "gt", "10", "", "", "", sqlRoles, "Many query compilations: plans are not reused."},
	{"sqlserver", "sql.recompilations", `\${sql_object}:SQL Statistics\SQL Re-Compilations/sec`, "gt", "10", "", "", "", sqlRoles, "Many query recompilations."},
	{"sqlserver", "sql.attention-rate", `\${sql_object}:SQL Statistics\SQL Attention rate`, "gt", "", "0", "", "", sqlRoles, "Clients cancel queries (attentions), typically CRM's SQL command time-out of 30 s."},
	{"sqlserver", "sql.errors", `\${sql_object}:SQL Errors(_Total)\Errors/sec`, "gt", "", "0", "", "", sqlRoles, "SQL Server reports errors."},
	{"sqlserver", "sql.lock-wait-time", `\${sql_object}:Locks(_Total)\Lock Wait Time (ms)`, "gt", "500", "750", "", "", sqlRoles, "Sessions wait long for locks: blocking."},
	{"sqlserver", "sql.lock-timeouts", `\${sql_object}:Locks(_Total)\Lock Timeouts/sec`, "gt", "", "1", "", "", sqlRoles, "Lock requests time out."},
	{"sqlserver", "sql.deadlocks", `\${sql_object}:Locks(_Total)\Number of Deadlocks/sec`, "gt", "", "0", "", "", sqlRoles, "Deadlocks kill CRM requests and async jobs (the async service retries SQL exceptions, 80040216)."},
	{"sqlserver", "sql.lock-waits", `\${sql_object}:Locks(_Total)\Lock Waits/sec`, "gt", "0", "", "", "", sqlRoles, "Lock requests have to wait."},
	{"sqlserver", "sql.total-latch-wait-time", `\${sql_object}:Latches\Total Latch Wait Time (ms)`, "gt", "500", "750", "", "", sqlRoles, "Sessions wait long for latches."},
	{"sqlserver", "sql.average-latch-wait-time", `\${sql_object}:Latches\Average Latch Wait Time (ms)`, "gt", "10", "", "", "", sqlRoles, "Latch waits are long on average."},
	{"sqlserver", "sql.page-splits", `\${sql_object}:Access Methods\Page Splits/sec`, "gt", "5", "", "", "", sqlRoles, "Index pages split often: fill factor or index design."},
	{"sqlserver", "sql.workfiles-created", `\${sql_object}:Access Methods\Workfiles Created/sec`, "gt", "5", "20", "", "", sqlRoles, "Hash joins and aggregates spill to tempdb work files."},
	{"sqlserver", "sql.worktables-created", `\${sql_object}:Access Methods\Worktables Created/sec`, "gt", "20", "", "", "", sqlRoles, "Many tempdb work tables (spools, sorts, cursors)."},
	{"sqlserver", "sql.forwarded-records", `\${sql_object}:Access Methods\Forwarded Records/sec`, "gt", "10", "", "", "", sqlRoles, "Reads follow forwarding pointers of heaps."},
	{"sqlserver", "sql.freespace-scans", `\${sql_object}:Access Methods\FreeSpace Scans/sec`, "gt", "10", "", "", "", sqlRoles, "Inserts into heaps scan for free space."},
	{"sqlserver", "sql.table-lock-escalations", `\${sql_object}:Access Methods\Table Lock Escalations/sec`, "gt", "500", "", "", "", sqlRoles, "Row and page locks escalate to table locks and block other CRM users."},
	{"sqlserver", "sql.percent-log-used", `\${sql_object}:Databases(*)\Percent Log Used`, "gt", "80", "", "", "", sqlRoles, "The transaction log of a database is more than 80 % full."},
	{"sqlserver", "sql.log-growths", `\${sql_object}:Databases(*)\Log Growths`, "gt", "0", "", "", "", sqlRoles, "The transaction log of a database had to grow."},
	{"sqlserver", "sql.log-shrinks", `\${sql_object}:Databases(*)\Log Shrinks`, "gt", "0", "", "", "", sqlRoles, "The transaction log of a database was shrunk (the async maintenance ShrinkLogFile job, or by hand)."},
	{"sqlserver", "sql.log-flush-waits", `\${sql_object}:Databases(*)\Log Flush Waits/sec`, "gt", "0", "", "", "", sqlRoles, "Commits wait for the transaction log to be written: slow log disk."},
	{"sqlserver", "sql.logins", `\${sql_object}:General Statistics\Logins/sec`, "gt", "2", "", "", "", sqlRoles, "Many logins per second: connection pooling is not effective."},
	{"sqlserver", "sql.logouts", `\${sql_object}:General Statistics\Logouts/sec`, "gt", "2", "", "", "", sqlRoles, "Many logouts per second: connection pooling is not effective."},
}

// familyResolution is the resolution text per generic rules file.
var familyResolution = map[string]string{
	"windows": "Find the process responsible (Task Manager, Resource Monitor or `\\Process(*)` counters of the same minutes); for a CRM server " +
		"check w3wp (CRMAppPool), the async services (MSCRMAsyncService, MSCRMAsyncService$maintenance) and the sandbox service. " +
		"Verbose CRM tracing costs performance and disk: turn it off (TraceEnabled=0 and a changed TraceRefresh under HKLM\\SOFTWARE\\Microsoft\\MSCRM) if it is on. " +
		"Where the threshold depends on the machine (RAM, CPU count, pool size), set the parameter for this host in an overrides file.",
	"iis-aspnet": "Check the CRM application pools (CRMAppPool, CRMDeploymentServiceAppPool) in IIS, the Application event log (ASP.NET, W3SVC/WAS) " +
		"and the CRM trace of the server for requests failing at the same time; ASP.NET executionTimeout is 300 s in CRM's web.config. " +
		"If the ASP.NET counter objects on this server carry another version suffix, set aspnet_apps_object / aspnet_object in an overrides file.",
	"sqlserver": "Check the SQL Server instance that holds MSCRM_CONFIG and the <Organization>_MSCRM databases: blocking and expensive queries " +
		"(sys.dm_exec_requests), memory (max server memory), tempdb and log disks; MSCRMPlatform logs a Warning for every CRM query over 10 s. " +
		"For a named instance set sql_object to MSSQL$NAME in an overrides file.",
}
