package simulate

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// eventLogEvery is the simulated time between two event-log entries of one
// fault on one host.
const eventLogEvery = 5 * time.Second

// eventLogFault is an entry a fault makes a CRM server write to its
// Application log (crm-domain §5). id is the event id; hasQualifiers adds
// Qualifiers='49152' (0xC000, the error severity bits of CRM's message
// ids). Ids marked LOW-AUTHORITY in the reference (17424, 20256) are used
// as the reference gives them; the slow-query warning's id is not public
// and is written as 0.
type eventLogFault struct {
	procs         []procKind
	provider      string
	id            uint16
	hasQualifiers bool
	level         int // Windows level: 2 error, 3 warning
	text          func(o *eventLogOutput, r *rand.Rand) string
}

var eventLogFaults = map[string]eventLogFault{
	// The real text of the MSCRMPlatform slow-query warning (§5.1).
	FaultSlowQueries: {procs: []procKind{procWeb, procAsync}, provider: "MSCRMPlatform", level: 3,
		text: func(o *eventLogOutput, r *rand.Rand) string {
			org := o.sqlOrg(r)
			e := &entities[r.IntN(len(entities))]
			return fmt.Sprintf("Query execution time of %.1f seconds exceeded the threshold of 10 seconds. Thread: %d; Database: %s; Query: %s",
				10.5+r.Float64()*110, 10+r.IntN(90), org.Database, sqlSelect(r, e, 51+r.IntN(5000)))
		}},
	// MSCRMPlatform 0xC0004410: an async maintenance operation failed; its
	// arguments name the machine and the organization (§5.2).
	FaultSQLTimeouts: {procs: []procKind{procAsync}, provider: "MSCRMPlatform", id: 17424, hasQualifiers: true, level: 2,
		text: func(o *eventLogOutput, r *rand.Rand) string {
			org := o.sqlOrg(r)
			return fmt.Sprintf("RecurringSeriesExpansionOperation failed. MachineName: %s, Organization: %s, Exception: System.Data.SqlClient.SqlException: Timeout expired. The timeout period elapsed prior to completion of the operation or the server is not responding.",
				o.spec.Name, org.Name)
		}},
	// MSCRMSandboxClient 0xC0004F20: a sandbox client error (§5.2) in the
	// web application calling the crashed sandbox worker.
	FaultSandboxCrash: {procs: []procKind{procWeb}, provider: "MSCRMSandboxClient", id: 20256, hasQualifiers: true, level: 2,
		text: func(o *eventLogOutput, _ *rand.Rand) string {
			return "The plug-in execution failed because the Sandbox Worker process crashed. This is typically due to an error in the plug-in code."
		}},
}

// eventLogOutput writes the CRM event-log entries of the active faults as
// rendered event XML (the wevtutil layout), one new file per flush in
// <Out>/<host>/EventLog/, for the agent's event-log drop folder.
type eventLogOutput struct {
	spec   hostSpec
	orgs   []Org
	faults *faultState
	dir    string
	r      *rand.Rand
	at     time.Time
	rec    uint64 // the host's Application log record id
	buf    bytes.Buffer
	seq    int

	mu sync.Mutex
	st OutputStats
}

func newEventLogOutput(spec hostSpec, orgs []Org, faults *faultState, start time.Time, seed uint64) *eventLogOutput {
	return &eventLogOutput{spec: spec, orgs: orgs, faults: faults, dir: spec.EventLogDir, at: start,
		r: rand.New(rand.NewPCG(seed, uint64(spec.index)+0x6576))}
}

func (o *eventLogOutput) next() time.Time { return o.at }

// sqlOrg picks an organization whose database is on CRMSQL01 (the SQL
// faults' tenants), any when none is.
func (o *eventLogOutput) sqlOrg(r *rand.Rand) *Org {
	var on []*Org
	for i := range o.orgs {
		if o.orgs[i].SQLServer == "CRMSQL01" {
			on = append(on, &o.orgs[i])
		}
	}
	if len(on) == 0 {
		return &o.orgs[r.IntN(len(o.orgs))]
	}
	return on[r.IntN(len(on))]
}

func (o *eventLogOutput) step() (int, error) {
	t := o.at
	o.at = t.Add(eventLogEvery)
	n := 0
	for _, fi := range faultCatalog {
		ef, ok := eventLogFaults[fi.Name]
		if !ok || !o.faults.activeAt(fi.Name, t) || !hasAnyProc(o.spec.procs, ef.procs) {
			continue
		}
		o.rec++
		o.writeEvent(ef, t)
		n++
	}
	o.mu.Lock()
	o.st.Records += int64(n)
	o.mu.Unlock()
	return n, nil
}

func hasAnyProc(have, want []procKind) bool {
	for _, w := range want {
		if hasProc(have, w) {
			return true
		}
	}
	return false
}

func (o *eventLogOutput) writeEvent(ef eventLogFault, t time.Time) {
	b := &o.buf
	b.WriteString("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='")
	xml.EscapeText(b, []byte(ef.provider))
	if ef.hasQualifiers {
		fmt.Fprintf(b, "'/><EventID Qualifiers='49152'>%d</EventID>", ef.id)
	} else {
		fmt.Fprintf(b, "'/><EventID>%d</EventID>", ef.id)
	}
	fmt.Fprintf(b, "<Level>%d</Level><Task>0</Task><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Channel>Application</Channel><Computer>",
		ef.level, t.UTC().Format("2006-01-02T15:04:05.0000000Z"), o.rec)
	xml.EscapeText(b, []byte(o.spec.Name))
	b.WriteString("</Computer><Security/></System><EventData><Data>")
	xml.EscapeText(b, []byte(ef.text(o, o.r)))
	b.WriteString("</Data></EventData></Event>\n")
}

// flush writes the buffered entries as a new file: under a name outside
// *.xml first, then renamed, so the agent never sees half a file.
func (o *eventLogOutput) flush() error {
	if o.buf.Len() == 0 {
		return nil
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("event log folder: %w", err)
	}
	o.seq++
	name := filepath.Join(o.dir, fmt.Sprintf("Application-%06d.xml", o.seq))
	if err := os.WriteFile(name+".part", o.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	if err := os.Rename(name+".part", name); err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	o.mu.Lock()
	o.st.Files++
	o.st.Bytes += int64(o.buf.Len())
	o.mu.Unlock()
	o.buf.Reset()
	return nil
}

func (o *eventLogOutput) close() error { return o.flush() }

func (o *eventLogOutput) stats() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.st
}
