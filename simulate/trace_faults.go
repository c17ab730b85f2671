package simulate

import (
	"fmt"
	"time"
)

// traceFault is what a fault does to the trace output: on the listed
// applications, for the organizations it touches, a share of new requests
// takes the fault's path.
type traceFault struct {
	procs []procKind
	share float64
	// affects reports whether the fault touches org (nil: every org).
	affects func(o *traceOutput, org *Org) bool
	build   func(b *spanBuilder, k procKind)
}

// onFirstSQLServer: SQL faults hit the tenants whose database is on
// CRMSQL01, as a real SQL outage hits one instance's tenants.
func onFirstSQLServer(_ *traceOutput, org *Org) bool { return org.SQLServer == "CRMSQL01" }

// secondOrg: a configuration fault of one tenant.
func secondOrg(o *traceOutput, org *Org) bool { return org == &o.cfg.orgs[1%len(o.cfg.orgs)] }

// traceFaults maps fault names to their trace effect. Every catalog entry has
// one (a test checks).
var traceFaults = map[string]traceFault{
	FaultSQLTimeouts:     {procs: []procKind{procWeb, procAsync}, share: 0.35, affects: onFirstSQLServer, build: sqlTimeout},
	FaultSlowQueries:     {procs: []procKind{procWeb, procAsync}, share: 0.3, affects: onFirstSQLServer, build: func(b *spanBuilder, _ procKind) { slowQuery(b) }},
	FaultAsyncBacklog:    {procs: []procKind{procAsync}, share: 0.5, build: asyncBacklog},
	FaultAuthFailures:    {procs: []procKind{procWeb}, share: 0.4, build: authFailure},
	FaultSandboxCrash:    {procs: []procKind{procWeb, procSandboxHost, procSandboxWorker}, share: 0.3, build: sandboxCrash},
	FaultPrivilegeErrors: {procs: []procKind{procWeb}, share: 0.5, affects: secondOrg, build: privilegeError},
	FaultWebErrors:       {procs: []procKind{procWeb}, share: 0.2, build: func(b *spanBuilder, _ procKind) { webError(b) }},
}

// applyFault lets the first active fault (catalog order) that applies take
// the new request over; it reports whether one did.
func (o *traceOutput) applyFault(b *spanBuilder, k procKind, t time.Time) bool {
	for _, fi := range faultCatalog {
		if !o.cfg.faults.activeAt(fi.Name, t) {
			continue
		}
		tf := traceFaults[fi.Name]
		if !hasProc(tf.procs, k) || (tf.affects != nil && !tf.affects(o, b.s.org)) {
			continue
		}
		if b.r.Float64() < tf.share {
			tf.build(b, k)
			return true
		}
	}
	return false
}

func hasProc(ps []procKind, k procKind) bool {
	for _, p := range ps {
		if p == k {
			return true
		}
	}
	return false
}

func sqlTimeout(b *spanBuilder, k procKind) {
	r := b.r
	e := &entities[r.IntN(len(entities))]
	q := sqlSelect(r, e, 51+r.IntN(5000))
	b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16, q)
	b.add("Platform.Sql", levelError, "CrmDbConnection.InternalExecuteReader", 0x16,
		fmt.Sprintf("Exception when executing query against %s on %s (timeout 30 seconds): %s", b.s.org.Database, b.s.org.SQLServer, sqlTimeoutException(r)))
	const generic = "Generic SQL error."
	switch {
	case b.legacy():
		b.add("Application", levelError, "ErrorInformation.LogError", -1,
			errorReport(generic, "0x80040216", generic, orgURL(b.s.org, "main.aspx")))
	case k == procAsync:
		b.add("Platform.Async", levelWarning, "AsyncOperationCommand.Execute", b.il(),
			fmt.Sprintf("Asynchronous operation %s of organization %s failed with SQL exception (0x80040216) and will be retried", newGUID(r), b.s.org.Name))
	default:
		b.add("Application", levelError, "HttpApplication.RecordError", 0x41,
			fmt.Sprintf("Request %s failed with exception Microsoft.Crm.CrmException: %s ErrorCode: %s (0x80040216) ---> %s",
				orgURL(b.s.org, "main.aspx"), generic, hresult(0x80040216), "System.Data.SqlClient.SqlException (0x80131904): Timeout expired."))
	}
}

// slowQuery writes the platform's slow-query warning, the same text
// MSCRMPlatform puts in the event log (reference §2.2 h and §5).
func slowQuery(b *spanBuilder) {
	r := b.r
	e := &entities[r.IntN(len(entities))]
	secs := 10.1 + float64(r.IntN(1500))/10
	thread := 10 + r.IntN(60)
	db := "MSCRM_CONFIG"
	if b.s.org != nil {
		db = b.s.org.Database
	}
	b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16, sqlSelect(r, e, 15001))
	b.add("Platform.Sql", levelWarning, "CrmDbConnection.LogSlowQuery", b.il(),
		fmt.Sprintf("Query execution time of %.1f seconds exceeded the threshold of 10 seconds. Thread: %d; Database: %s; Query: %s",
			secs, thread, db, sqlOneLine(r, e)))
}

// webError is the ASP.NET unhandled error of reference §2.2 b.
func webError(b *spanBuilder) {
	page := pick(b.r, []string{"default.aspx", "main.aspx", "_root/homepage.aspx", "tools/diag.aspx"})
	if b.legacy() {
		b.add("Application", levelError, "ErrorInformation.LogError", -1,
			errorReport("Object reference not set to an instance of an object.", "0x80040216",
				"System.NullReferenceException: Object reference not set to an instance of an object.", orgURL(b.s.org, page)))
		return
	}
	b.add("Application", levelError, "HttpApplication.RecordError", 0x41,
		fmt.Sprintf("Request %s failed with exception System.NullReferenceException: Object reference not set to an instance of an object.\n"+
			"   at Microsoft.Crm.Application.Pages.Common.DefaultPage.ConfigureForm()\n"+
			"   at System.Web.UI.Control.OnLoad(EventArgs e)", orgURL(b.s.org, page)))
}

// workflowFailure follows the async failure semantics of reference §1.5.
func workflowFailure(b *spanBuilder) {
	r := b.r
	wf, id := pick(r, workflowNames), newGUID(r)
	switch r.IntN(3) {
	case 0:
		b.add("Platform.Workflow", levelError, "WorkflowExecutor.Execute", b.il(),
			fmt.Sprintf("Workflow %q (operation %s) failed: Microsoft.Xrm.Sdk.InvalidPluginExecutionException: %s.%s: the record could not be validated (0x80040265)",
				wf, id, b.orgName(), pick(r, pluginNames)))
	case 1:
		b.add("Platform.Workflow", levelError, "WorkflowExecutor.Execute", b.il(),
			fmt.Sprintf("Workflow %q (operation %s) suspended: the workflow system has been paused (0x80045017)", wf, id))
	default:
		b.add("Platform.Workflow", levelError, "WorkflowLoopDetector.Check", b.il(),
			fmt.Sprintf("This workflow job was canceled because the workflow that started it included an infinite loop. Correct the workflow logic and try again. Workflow %q, operation %s (0x80044182)", wf, id))
	}
}

func asyncBacklog(b *spanBuilder, _ procKind) {
	r := b.r
	switch r.IntN(4) {
	case 0:
		b.add("Platform.Async", levelWarning, "QueueManager.RetrieveReadyOperations", b.il(),
			fmt.Sprintf("Asynchronous queue of organization %s: %d ready operations waiting, the oldest for %d minutes",
				b.orgName(), 2000+r.IntN(20000), 15+r.IntN(240)))
	case 1:
		b.add("Platform.Async", levelWarning, "AsyncOperationCommand.Execute", b.il(),
			fmt.Sprintf("Asynchronous operation %s of organization %s postponed: Server busy (0x8004A001); retry %d of 10",
				newGUID(r), b.orgName(), 1+r.IntN(9)))
	default:
		workflowFailure(b)
	}
}

func authFailure(b *spanBuilder, _ procKind) {
	r := b.r
	if r.IntN(2) == 0 && !b.legacy() {
		b.add("Platform", levelError, "CrmSessionAuthenticationManager.AuthenticateRequest", b.il(),
			fmt.Sprintf("Claims authentication failed for [UserToken:C:%s]: ID4175: The issuer of the security token was not recognized by the IssuerNameRegistry. "+
				"To accept security tokens from this issuer, configure the IssuerNameRegistry to return a valid name for this issuer.", b.u.login))
	} else {
		b.add("Platform", levelError, "WindowsAuthenticationProvider.Authenticate", b.il(),
			fmt.Sprintf("Windows authentication failed for 'W: %s' (%s): HTTP 401 Unauthorized (0x80044306)", b.u.sid, b.u.login))
	}
	b.add("Exception", levelError, "CrmException..ctor", -1,
		"System.ServiceModel.Security.MessageSecurityException: The HTTP request is unauthorized with client authentication scheme 'Negotiate'. "+
			"The authentication header received from the server was 'Negotiate,NTLM'.")
}

func privilegeError(b *spanBuilder, _ procKind) {
	msg := fmt.Sprintf("SecLib::CrmCheckPrivilege failed. Returned hr = %s on UserId: %s and PrivilegeId: %s",
		hresult(0x80040220), b.u.id, newGUID(b.r))
	if b.legacy() {
		b.add("Application", levelError, "ErrorInformation.LogError", -1,
			errorReport("Server was unable to process request.", "0x80040220", msg, orgURL(b.s.org, "main.aspx")))
		return
	}
	b.add("Exception", levelError, "CrmException..ctor", -1, msg)
}

// sandboxCrash: on the worker, a crash that restarts the process; on the
// host, the crash report and the Access Denied head-line pair of reference
// §2.2 d; on the web server, the sandbox client's failure.
func sandboxCrash(b *spanBuilder, k procKind) {
	r := b.r
	o := b.o
	switch k {
	case procSandboxWorker:
		if r.IntN(3) != 0 {
			buildSandboxWorker(b)
			return
		}
		b.add("Sandbox", levelError, "SandboxWorkerProcess.OnUnhandledException", -1,
			fmt.Sprintf("Unhandled exception in plug-in %s.%s: System.StackOverflowException; the worker process is terminating", b.orgName(), pick(r, pluginNames)))
		proc := b.s.proc
		b.s.after = func() error { return o.restart(proc) }
	case procSandboxHost:
		worker := o.procs[procSandboxWorker]
		if r.IntN(2) == 0 {
			b.add("Sandbox", levelError, "SandboxWorkerProcessManager.OnWorkerExited", -1,
				fmt.Sprintf("The plug-in execution failed because the Sandbox Worker process crashed. This is typically due to an error in the plug-in code. Worker process %d terminated; a new worker is started", worker.pid))
			return
		}
		b.system()
		b.addHead("Sandbox", levelError, "SandboxHost.AuthenticateCaller",
			fmt.Sprintf(`Access Denied. Reference number for administrators or support: #%08X: HOSTING\%s$ is not in PrivUserGroup`, r.Uint32(), o.cfg.spec.Name))
		b.add("Exception", levelError, "CrmException..ctor", -1, "")
	default:
		if b.legacy() { // CRM 4.0 had no sandbox
			buildWeb(b)
			return
		}
		b.add("Sandbox", levelError, "SandboxClient.Execute", b.il(),
			"The plug-in execution failed because no Sandbox Hosts are currently available. Please check that you have a Sandbox server configured and that it is running.")
	}
}
