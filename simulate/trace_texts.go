package simulate

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// entity is a CRM entity with its base table and a few columns, for the SQL
// text the platform traces.
type entity struct {
	name, table, key string
	cols             []string
}

var entities = []entity{
	{"account", "AccountBase", "AccountId", []string{"Name", "AccountNumber", "Telephone1", "OwnerId", "StateCode"}},
	{"contact", "ContactBase", "ContactId", []string{"FullName", "EMailAddress1", "ParentCustomerId", "OwnerId", "StateCode"}},
	{"opportunity", "OpportunityBase", "OpportunityId", []string{"Name", "EstimatedValue", "EstimatedCloseDate", "CustomerId", "StateCode"}},
	{"incident", "IncidentBase", "IncidentId", []string{"Title", "TicketNumber", "PriorityCode", "CustomerId", "StateCode"}},
	{"lead", "LeadBase", "LeadId", []string{"FullName", "CompanyName", "LeadSourceCode", "OwnerId", "StateCode"}},
	{"activitypointer", "ActivityPointerBase", "ActivityId", []string{"Subject", "ScheduledEnd", "RegardingObjectId", "OwnerId", "StateCode"}},
	{"systemuser", "SystemUserBase", "SystemUserId", []string{"FullName", "DomainName", "BusinessUnitId", "IsDisabled", "AccessMode"}},
}

var sdkMessages = []string{"Retrieve", "RetrieveMultiple", "RetrieveMultiple", "RetrieveMultiple", "Create", "Update", "Execute", "WhoAmI"}

// sqlSelect builds the multi-line SQL text CRM's query builder produces for
// a RetrieveMultiple (the `>` message of a Platform.Sql record).
func sqlSelect(r *rand.Rand, e *entity, top int) string {
	alias := e.name + "0"
	var sb strings.Builder
	sb.WriteString("select")
	if top > 0 {
		fmt.Fprintf(&sb, " top %d", top)
	}
	sb.WriteString(" \n")
	n := 2 + r.IntN(len(e.cols)-1)
	for i, c := range e.cols[:n] {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%q.%s as %q", alias, c, strings.ToLower(c))
	}
	fmt.Fprintf(&sb, ", %q.%s as %q\nfrom\n %s as %q (NOLOCK) \nwhere\n (%q.StateCode = 0) order by\n %q.%s asc",
		alias, e.key, strings.ToLower(e.key), e.table, alias, alias, alias, e.cols[0])
	return sb.String()
}

// sqlOneLine is a query as the slow-query warning shows it: one line
// (reference §2.2 h: `Query: select top 15001 "entity".column as "column" ...`).
func sqlOneLine(r *rand.Rand, e *entity) string {
	return strings.Join(strings.Fields(sqlSelect(r, e, 15001)), " ")
}

// pluginNames are custom plug-in types tenants register.
var pluginNames = []string{
	"Plugins.AccountPreCreate", "Plugins.ContactPostUpdate", "Plugins.OpportunityWinHandler",
	"Plugins.CaseRouting", "Plugins.LeadQualify", "Plugins.InvoiceNumbering",
}

var workflowNames = []string{
	"Send welcome e-mail", "Escalate overdue case", "Assign new lead", "Update account rollups",
	"Notify opportunity owner", "Close stale activities",
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// hresult formats an HRESULT the way CRM's ErrorCode fields show it (signed).
func hresult(h uint32) string { return fmt.Sprintf("%d", int32(h)) }

// errorReportDashes is the rule under "MSCRM Error Report:" (104 dashes, as
// in the real report of reference §2.2 e/f).
var errorReportDashes = strings.Repeat("-", 104)

// errorReport builds an "MSCRM Error Report" body (reference §2.2 f) with
// the fields other KBs add.
func errorReport(errText, number, message, url string) string {
	return "MSCRM Error Report:\n" + errorReportDashes +
		"\nError: " + errText +
		"\nError Number: " + number +
		"\nError Message: " + message +
		"\nError Details: " + message +
		"\nSource File: Not available\nLine Number: Not available" +
		"\nRequest URL: " + url +
		"\nStack Trace Info: [CrmException: " + message + "]"
}

// orgURL is a tenant's address on the hoster's front end (IFD style).
func orgURL(o *Org, page string) string {
	if o == nil {
		return "https://crm.hosting.example.net/" + page
	}
	return "https://" + strings.ToLower(o.Name) + ".crm.hosting.example.net/" + page
}

// sqlTimeoutException is the .NET SqlException text of a command timeout.
func sqlTimeoutException(r *rand.Rand) string {
	return "System.Data.SqlClient.SqlException (0x80131904): Timeout expired.  The timeout period elapsed prior to " +
		"completion of the operation or the server is not responding. ---> System.ComponentModel.Win32Exception " +
		"(0x80004005): The wait operation timed out\n" +
		"   at System.Data.SqlClient.SqlConnection.OnError(SqlException exception, Boolean breakConnection, Action`1 wrapCloseInAction)\n" +
		"   at System.Data.SqlClient.TdsParser.TryRun(RunBehavior runBehavior, SqlCommand cmdHandler, SqlDataReader dataStream, BulkCopySimpleResultSet bulkCopyHandler, TdsParserStateObject stateObj, Boolean& dataReady)\n" +
		"   at System.Data.SqlClient.SqlDataReader.TryConsumeMetaData()\n" +
		"   at System.Data.SqlClient.SqlCommand.ExecuteReader(CommandBehavior behavior, String method)\n" +
		"   at Microsoft.Crm.CrmDbConnection.InternalExecuteReader(IDbCommand command, Boolean capturePerfTrace)\n" +
		"ClientConnectionId:" + newGUID(r) + "\nError Number:-2,State:0,Class:11"
}

// stackFrames holds, per operation, the call chain the platform prints
// when CallStackOn (the operation with its arguments first).
var stackFrames = map[string][]string{
	"CrmDbConnection.InternalExecuteReader": {
		"CrmDbConnection.InternalExecuteReader(IDbCommand command, Boolean capturePerfTrace)",
		"CrmDbConnection.ExecuteReader(IDbCommand command, Boolean impersonate)",
		"DataAccessBase.ExecuteReader(IDbCommand command, ExecutionContext context)",
		"BusinessProcessObject.DoRetrieveMultiple(BusinessEntityCollection entities, EntityExpression entityExpression, ExecutionContext context)",
		"RetrieveMultipleCommand.Execute(ExecutionContext context)",
		"MessageProcessor.Execute(PipelineExecutionContext context)",
		"OrganizationSdkServiceInternal.Execute(OrganizationRequest request, CorrelationToken correlationToken, CallerOriginToken callerOriginToken, WebServiceType serviceType)",
	},
	"HttpApplication.RecordError": {
		"HttpApplication.RecordError(Exception error)",
		"HttpApplication.ExecuteStep(IExecutionStep step, Boolean& completedSynchronously)",
		"PipelineStepManager.ResumeSteps(Exception error)",
	},
}

var genericFrames = []string{
	"MessageProcessor.Execute(PipelineExecutionContext context)",
	"InternalMessageDispatcher.Execute(PipelineExecutionContext context)",
	"ExtensionHandler.Execute(PipelineExecutionContext context)",
	"PipelineInstrumentationHelper.Execute(Boolean instrumentationEnabled, String stopwatchName, ExecuteWithInstrumentation action, PipelineExecutionContext context)",
	"Pipeline.Execute(PipelineExecutionContext context)",
	"MessageDispatcher.Execute(PipelineExecutionContext context)",
	"ClientWebService.Execute(OrganizationRequest request)",
}

var sandboxFrames = []string{
	"SandboxCodeUnit.Execute(IExecutionContext context)",
	"SandboxAppDomainHelper.Execute(IPlugin plugin, IServiceProvider serviceProvider)",
	"SandboxWorker.Execute(SandboxCallInfo callInfo, SandboxPluginExecutionContext requestContext)",
	"SandboxHost.ExecutePlugin(SandboxCallInfo callInfo, SandboxPluginExecutionContext requestContext)",
	"SandboxHostService.Dispatch(SandboxCallInfo callInfo)",
}

// stackFor returns the call-stack lines for op: its own frames when known,
// otherwise the operation followed by a run of its component's frames.
func stackFor(op string, r *rand.Rand) []string {
	if fr, ok := stackFrames[op]; ok {
		return fr[:2+r.IntN(len(fr)-1)]
	}
	pool := genericFrames
	if strings.HasPrefix(op, "Sandbox") {
		pool = sandboxFrames
	}
	start := r.IntN(len(pool) - 2)
	n := 2 + r.IntN(len(pool)-start-1)
	out := make([]string, 0, n+1)
	out = append(out, op+"()")
	return append(out, pool[start:start+n]...)
}
