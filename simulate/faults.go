package simulate

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultInfo names and describes a fault the simulator can inject.
type FaultInfo struct {
	Name        string
	Description string
}

// Fault names.
const (
	FaultSQLTimeouts     = "sql-timeouts"
	FaultSlowQueries     = "slow-queries"
	FaultAsyncBacklog    = "async-backlog"
	FaultAuthFailures    = "auth-failures"
	FaultSandboxCrash    = "sandbox-crash"
	FaultPrivilegeErrors = "privilege-errors"
	FaultWebErrors       = "web-errors"
)

// faultCatalog is the one list of faults, in the order they are documented
// and applied. Texts quoted in descriptions are the real ones from the CRM
// domain reference where it has them.
var faultCatalog = []FaultInfo{
	{FaultSQLTimeouts, "SQL Server stops answering in time for the organizations whose database is on CRMSQL01: " +
		"Platform.Sql Error records (SqlException \"Timeout expired\", CRM error 0x80040216) on the application " +
		"servers (w3wp CRMWeb) and async services, followed by the failed request's Application error."},
	{FaultSlowQueries, "Queries over the 10 s threshold for the organizations on CRMSQL01: Platform.Sql Warning " +
		"records \"Query execution time of N seconds exceeded the threshold of 10 seconds. Thread: …; Database: …; Query: …\"."},
	{FaultAsyncBacklog, "The asynchronous service falls behind: Platform.Async Warning records about the ready " +
		"queue growing, \"Server busy\" (0x8004A001) retries, and Platform.Workflow Error records for workflows " +
		"that fail or suspend (0x80045017, 0x80040265)."},
	{FaultAuthFailures, "Users cannot sign in: Platform Error records for rejected claims tokens and Windows " +
		"(NTLM/Kerberos) authentication, HTTP 401 (0x80044306), on the web and SDK front ends of every organization."},
	{FaultSandboxCrash, "The sandbox worker process crashes and is restarted (a new process, so a new trace file): " +
		"Sandbox Error records \"The plug-in execution failed because the Sandbox Worker process crashed\", " +
		"\"Access Denied\" on the host's head line, and sandbox-client errors in CRMWeb."},
	{FaultPrivilegeErrors, "A broken security role in one organization: SecLib::CrmCheckPrivilege failures " +
		"(0x80040220) as Exception Error records, as an \"MSCRM Error Report\" body on CRM 4.0 hosts."},
	{FaultWebErrors, "Unhandled ASP.NET errors on the web front end: Application Error records " +
		"\"Request https://…/default.aspx failed with exception System.NullReferenceException\" (HttpApplication.RecordError)."},
}

// Faults lists every fault the simulator knows, for --help and validation.
func Faults() []FaultInfo { return append([]FaultInfo(nil), faultCatalog...) }

// FaultNames lists the known fault names in catalog order.
func FaultNames() []string {
	names := make([]string, len(faultCatalog))
	for i, f := range faultCatalog {
		names[i] = f.Name
	}
	return names
}

func lookupFault(name string) (FaultInfo, error) {
	for _, f := range faultCatalog {
		if f.Name == name {
			return f, nil
		}
	}
	return FaultInfo{}, fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
}

// faultWindow is when a fault is active on the simulated clock; a zero
// until means until cleared.
type faultWindow struct{ from, until time.Time }

func (w faultWindow) covers(t time.Time) bool {
	return !t.Before(w.from) && (w.until.IsZero() || t.Before(w.until))
}

// faultState holds the active faults. Readers (every new request of every
// host) load an immutable snapshot without locking; writers copy on write.
type faultState struct {
	mu     sync.Mutex
	active atomic.Pointer[map[string]faultWindow]
}

func newFaultState() *faultState {
	s := &faultState{}
	m := map[string]faultWindow{}
	s.active.Store(&m)
	return s
}

func (s *faultState) set(name string, w faultWindow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := maps.Clone(*s.active.Load())
	m[name] = w
	s.active.Store(&m)
}

func (s *faultState) clear(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := maps.Clone(*s.active.Load())
	delete(m, name)
	s.active.Store(&m)
}

// activeAt reports whether name is active at simulated time t.
func (s *faultState) activeAt(name string, t time.Time) bool {
	m := *s.active.Load()
	if len(m) == 0 {
		return false
	}
	w, ok := m[name]
	return ok && w.covers(t)
}

// window returns the fault's window, if it is configured.
func (s *faultState) window(name string) (faultWindow, bool) {
	w, ok := (*s.active.Load())[name]
	return w, ok
}

// any reports whether any fault is configured (a fast path for the common
// no-fault case).
func (s *faultState) any() bool { return len(*s.active.Load()) > 0 }
