package simulate

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// spanBuilder assembles the records of one request.
type spanBuilder struct {
	o *traceOutput
	s *span
	u *user // nil for system work
	r *rand.Rand
}

func (b *spanBuilder) add(cat string, lvl level, op string, il int, msg string) {
	b.s.recs = append(b.s.recs, recSpec{cat: cat, lvl: lvl, op: op, il: il, msg: msg})
}

// addHead adds a record whose message starts on the head line (sandbox).
func (b *spanBuilder) addHead(cat string, lvl level, op, msg string) {
	b.s.recs = append(b.s.recs, recSpec{cat: cat, lvl: lvl, op: op, il: -1, msg: msg, onHead: true})
}

// system makes the span deployment-level work: no organization, no user.
func (b *spanBuilder) system() {
	b.s.org, b.s.user, b.u = nil, zeroGUID, nil
}

func (b *spanBuilder) legacy() bool { return b.o.cfg.spec.version.legacy }

func (b *spanBuilder) il() int { return 0x10 + b.r.IntN(0x180) }

func (b *spanBuilder) orgName() string {
	if b.s.org == nil {
		return "MSCRM_CONFIG"
	}
	return b.s.org.Name
}

// newSpan starts the next request: pick an application by weight, a tenant
// by traffic, a user and thread; an active fault may take it over.
func (o *traceOutput) newSpan(t time.Time) (*span, error) {
	r := o.r
	x := r.IntN(o.pcumul[len(o.pcumul)-1])
	k := o.cfg.spec.procs[len(o.pcumul)-1]
	for i, c := range o.pcumul {
		if x < c {
			k = o.cfg.spec.procs[i]
			break
		}
	}
	p := o.procs[k]
	org := o.tenants.pick(r)
	u := &org.users[r.IntN(len(org.users))]
	s := &span{proc: p, org: org, user: u.id, activityID: newGUID(r), thread: o.thread(p)}
	if r.IntN(40) != 0 { // an occasional request is traced with an empty ReqId
		s.reqID = newGUID(r)
	}
	b := &spanBuilder{o: o, s: s, u: u, r: r}
	if o.cfg.faults.any() && o.applyFault(b, k, t) {
		return s, nil
	}
	switch k {
	case procWeb:
		buildWeb(b)
	case procHelp:
		buildHelp(b)
	case procDeployment:
		buildDeployment(b)
	case procAsync:
		buildAsync(b)
	case procSandboxHost:
		buildSandboxHost(b)
	case procSandboxWorker:
		buildSandboxWorker(b)
	default:
		return nil, fmt.Errorf("no trace scenario for application %q", p.info.app)
	}
	return s, nil
}

// thread formats a thread id the way this release pads it.
func (o *traceOutput) thread(p *process) string {
	id := p.threads[o.r.IntN(len(p.threads))]
	if o.cfg.spec.version.padThread {
		return fmt.Sprintf("%4d", id)
	}
	return strconv.Itoa(id)
}

// buildWeb: the web application, Organization (SDK) and Discovery services.
func buildWeb(b *spanBuilder) {
	r := b.r
	switch x := r.IntN(1000); {
	case x < 3:
		slowQuery(b) // the platform's own 10 s threshold is hit now and then
	case x < 5:
		webError(b)
	case x < 7:
		registryWatcher(b)
	case x < 120:
		discovery(b)
	case x < 220:
		metadata(b)
	case x < 420:
		createWithPlugin(b)
	default:
		retrieve(b)
	}
}

func authenticate(b *spanBuilder) {
	if b.r.IntN(2) == 0 && !b.legacy() {
		b.add("Platform", levelVerbose, "CrmSessionAuthenticationManager.SetCrmClaimsIdentity", b.il(),
			fmt.Sprintf("CrmSessionAuthenticationManager published CrmClaimsIdentity [UserToken:C:%s] [UserId:{%s}].", b.u.login, b.u.id))
		return
	}
	b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16,
		fmt.Sprintf("exec p_GetDefaultOrgFromAuthInfo 'W: %s'", b.u.sid))
}

func retrieve(b *spanBuilder) {
	r := b.r
	e := &entities[r.IntN(len(entities))]
	msg := pick(r, sdkMessages)
	authenticate(b)
	b.add("Platform.Sdk", levelVerbose, "OrganizationSdkServiceInternal.Execute", b.il(),
		fmt.Sprintf("Executing %s on %s for organization %s", msg, e.name, b.orgName()))
	for range 1 + r.IntN(3) {
		b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16, sqlSelect(r, e, 51+r.IntN(5000)))
	}
	b.add("Platform.Sdk", levelInfo, "MessageProcessor.Execute", b.il(),
		fmt.Sprintf("%s on %s completed in %d ms", msg, e.name, 5+r.IntN(400)))
}

func createWithPlugin(b *spanBuilder) {
	r := b.r
	e := &entities[r.IntN(len(entities)-1)]
	op := pick(r, []string{"Create", "Update"})
	authenticate(b)
	b.add("Platform.Sdk", levelVerbose, "OrganizationSdkServiceInternal.Execute", b.il(),
		fmt.Sprintf("Executing %s on %s for organization %s", op, e.name, b.orgName()))
	b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteNonQuery", b.il(),
		fmt.Sprintf("update %s set ModifiedOn = @ModifiedOn0, ModifiedBy = @ModifiedBy0 where %s = @%s0", e.table, e.key, e.key))
	if !b.legacy() {
		b.add("Sandbox", levelVerbose, "SandboxClient.Execute", b.il(),
			fmt.Sprintf("Dispatching plug-in %s.%s (%s of %s) to the sandbox", b.orgName(), pick(r, pluginNames), op, e.name))
	}
	b.add("Platform.Workflow", levelVerbose, "WorkflowExpansionTask.Execute", b.il(),
		fmt.Sprintf("Queued asynchronous workflow %q for %s of %s", pick(r, workflowNames), op, e.name))
}

func discovery(b *spanBuilder) {
	b.add("Platform", levelVerbose, "DiscoveryServiceInternal.RetrieveOrganizations", b.il(),
		fmt.Sprintf("RetrieveOrganizations for user %s returned organization %s (%s)", b.u.login, b.orgName(), b.s.orgID()))
}

func metadata(b *spanBuilder) {
	r := b.r
	b.add("Platform.Metadata", levelVerbose, "MetadataCacheLoader.LoadCache", b.il(),
		fmt.Sprintf("Metadata cache of organization %s checked: version %d, %d entities", b.orgName(), 10000+r.IntN(90000), 300+r.IntN(200)))
}

// registryWatcher is the platform re-reading its trace settings, traced on
// the registry watcher thread (reference §2.1: "Thread: 7(MSCRM:-RegistryWatcher.RegTrackerThreadProc)").
func registryWatcher(b *spanBuilder) {
	b.system()
	b.s.reqID = ""
	b.s.thread = "7(MSCRM:-RegistryWatcher.RegTrackerThreadProc)"
	b.add("Platform", levelInfo, "RegistryWatcher.RegTrackerThreadProc", b.il(),
		"Registry value TraceRefresh changed; trace settings reloaded: Categories="+b.o.live.categories)
}

func buildHelp(b *spanBuilder) {
	r := b.r
	if r.IntN(3) == 0 {
		b.s.reqID = ""
	}
	page := pick(r, []string{"home", "accounts", "contacts", "opportunities", "cases", "workflow"})
	b.add("Application", levelVerbose, "HelpPageHandler.ProcessRequest", b.il(), "Help request /help/default.aspx?page="+page)
	if r.IntN(2) == 0 {
		b.add("Application", levelVerbose, "HelpContentProvider.GetContent", b.il(), "Help content "+page+".htm served from cache")
	}
}

func buildDeployment(b *spanBuilder) {
	r := b.r
	b.system()
	org := b.o.tenants.pick(r)
	switch x := r.IntN(1000); {
	case x < 1:
		b.add("Deployment", levelError, "OrganizationProvisioning.UpdateOrganization", b.il(),
			fmt.Sprintf("Organization %s (%s) could not be updated: cannot open database %s on %s requested by the login. The login failed.", org.Name, org.ID, org.Database, org.SQLServer))
	case x < 4:
		b.add("Deployment", levelWarning, "DeploymentServiceInternal.Execute", b.il(),
			fmt.Sprintf("Organization %s (%s) database %s on %s did not answer the health check within 30 seconds", org.Name, org.ID, org.Database, org.SQLServer))
	case x < 80:
		b.add("Deployment.Provisioning", levelInfo, "OrganizationProvisioning.UpdateOrganization", b.il(),
			fmt.Sprintf("Organization %s (%s): state Enabled, database %s on %s", org.Name, org.ID, org.Database, org.SQLServer))
	default:
		b.add("Deployment.Sdk", levelVerbose, "DeploymentServiceInternal.Execute", b.il(), "Executing RetrieveAll for Organization")
		b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16,
			"select Id, UniqueName, FriendlyName, State, DatabaseName, SqlServerName\nfrom\n Organization \nwhere\n IsDeleted = 0")
		b.add("Deployment", levelVerbose, "DeploymentServiceInternal.Execute", b.il(),
			fmt.Sprintf("RetrieveAll returned %d organizations", len(b.o.cfg.orgs)))
	}
}

func buildAsync(b *spanBuilder) {
	r := b.r
	wf := pick(r, workflowNames)
	switch x := r.IntN(1000); {
	case x < 4:
		workflowFailure(b)
	case x < 150:
		b.system()
		b.add("Platform.Async", levelVerbose, "QueueManager.RetrieveReadyOperations", b.il(),
			fmt.Sprintf("Polled the queue of %d organizations: %d ready operations", len(b.o.cfg.orgs), r.IntN(40)))
	default:
		id := newGUID(r)
		b.add("Platform.Async", levelVerbose, "AsyncOperationCommand.Execute", b.il(),
			fmt.Sprintf("Starting asynchronous operation %s (Workflow) for organization %s", id, b.orgName()))
		b.add("Platform.Sql", levelVerbose, "CrmDbConnection.InternalExecuteReader", 0x16,
			"select AsyncOperationId, OperationType, StateCode, StatusCode, RetryCount\nfrom\n AsyncOperationBase \nwhere\n AsyncOperationId = '"+id+"'")
		b.add("Platform.Workflow", levelInfo, "WorkflowExecutor.Execute", b.il(),
			fmt.Sprintf("Workflow %q (operation %s) completed in %d ms", wf, id, 20+r.IntN(3000)))
	}
}

func buildSandboxHost(b *spanBuilder) {
	r := b.r
	worker := b.o.procs[procSandboxWorker]
	switch x := r.IntN(100); {
	case x < 10:
		b.system()
		b.add("Sandbox.Monitoring", levelVerbose, "SandboxWorkerMonitor.Check", -1,
			fmt.Sprintf("Worker process %d: %d MB private bytes, %d active requests", worker.pid, 120+r.IntN(400), r.IntN(8)))
	default:
		b.add("Sandbox.LoadBalancer", levelVerbose, "SandboxHostLoadBalancer.AssignRequest", -1,
			fmt.Sprintf("Plug-in request of organization %s assigned to worker process %d", b.orgName(), worker.pid))
	}
}

func buildSandboxWorker(b *spanBuilder) {
	r := b.r
	pl := b.orgName() + "." + pick(r, pluginNames)
	if r.IntN(1000) < 3 {
		b.add("Sandbox", levelError, "SandboxCodeUnit.Execute", -1,
			fmt.Sprintf("Unexpected exception from plug-in (Execute): %s: System.InvalidOperationException: The record is locked by another process.", pl))
		return
	}
	b.add("Sandbox.EnterExit", levelVerbose, "SandboxCodeUnit.Execute", -1, "Entering plug-in "+pl)
	if r.IntN(4) == 0 {
		b.add("Sandbox.AssemblyCache", levelVerbose, "AssemblyCache.Load", -1,
			fmt.Sprintf("Assembly %s, Version=1.0.%d.0, Culture=neutral loaded from the assembly cache", pl, r.IntN(40)))
	}
	b.add("Sandbox.Performance", levelVerbose, "SandboxCodeUnit.Execute", -1,
		fmt.Sprintf("Plug-in %s executed in %d ms", pl, 1+r.IntN(900)))
}
