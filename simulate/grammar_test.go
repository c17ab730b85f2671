package simulate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
)

// This file is a strict checker of the trace format written from the CRM
// domain reference (§2.1 grammar, §2.2 real lines, §2.3 naming, §3.2
// categories). It does not use package tracing on purpose: the simulator and
// the parser must agree with the reference, not with each other.

const guidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// knownCategories is the category list of reference §3.2.
var knownCategories = []string{
	"Application", "Application.Outlook",
	"Platform", "Platform.Async", "Platform.ImportExportPublish", "Platform.Import", "Platform.Metadata",
	"Platform.Sdk", "Platform.Soap", "Platform.Sql", "Platform.Workflow",
	"Deployment", "Deployment.Provisioning", "Deployment.Sdk",
	"Sandbox", "Sandbox.AssemblyCache", "Sandbox.LoadBalancer", "Sandbox.CallReturn", "Sandbox.EnterExit",
	"Sandbox.StartStop", "Sandbox.Performance", "Sandbox.Monitoring",
	"Unmanaged.Outlook", "Unmanaged.Platform", "Unmanaged.Sql",
	"ADUtility", "DataMigration", "Exception", "Etm", "Monitoring", "NewOrgUtility", "ObjectModel",
	"ParameterFilter", "Reports", "SchedulingEngine", "ServiceBus", "Shared", "SharePointCollaboration",
	"Solutions", "Visualizations",
}

var (
	headRE = regexp.MustCompile(`^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3})\]` +
		` Process:( ?)(w3wp|CrmAsyncService|Microsoft\.Crm\.Sandbox\.HostService|Microsoft\.Crm\.Sandbox\.WorkerProcess)` +
		` \|Organization:(` + guidRE + `)` +
		` \|Thread: ( *\d+|7\(MSCRM:-RegistryWatcher\.RegTrackerThreadProc\))` +
		` \|Category: ([A-Za-z.]+)` +
		` \|User: (` + guidRE + `)` +
		` \|Level: (Error|Warning|Info|Verbose)` +
		`( \|ReqId:(?: (` + guidRE + `))?)?` +
		`(?: \|ActivityId: (` + guidRE + `))?` +
		` \| ([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*(?:\.\.ctor)?)` +
		`(?:( {1,2})ilOffset = 0x([0-9A-F]+))?` +
		`(?: >(.+))?$`)
	stackRE    = regexp.MustCompile(`^\tat [A-Za-z][\w.]*(?:\.\.ctor)?\(.*\)(?: {1,2}ilOffset = 0x[0-9A-F]+)?$`)
	fileNameRE = regexp.MustCompile(`^([A-Z0-9]+)-(w3wp|CrmAsyncService|Microsoft\.Crm\.Sandbox\.HostService|Microsoft\.Crm\.Sandbox\.WorkerProcess)` +
		`\((\d+)#([0-9A-F]{8})\)-(CRMWeb|Help|DeploymentService|AsyncService|SandboxHost|SandboxWorker)-(\d{8})-(\d+)\.log$`)
	headerRE = []*regexp.Regexp{
		regexp.MustCompile(`^# (\S.*)$`),
		regexp.MustCompile(`^# LocalTime: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$`),
		regexp.MustCompile(`^# Categories: (\S.*)$`),
		regexp.MustCompile(`^# CallStackOn: (True|False)$`),
		regexp.MustCompile(`^# ComputerName: ([A-Z0-9]+)$`),
		regexp.MustCompile(`^# CRMVersion: (\d+\.\d+\.\d+\.\d+)$`),
		regexp.MustCompile(`^# DeploymentType: (OnPremise)$`),
		regexp.MustCompile(`^# ScaleGroup: (SG\d{2})$`),
		regexp.MustCompile(`^# ServerRole: ((?:AppServer|SdkServer|DiscoveryService|HelpServer|AsyncService|SandboxService|DeploymentService)(?:, (?:AppServer|SdkServer|DiscoveryService|HelpServer|AsyncService|SandboxService|DeploymentService))*)$`),
	}
)

// parsedRecord is what the checker extracts from one record.
type parsedRecord struct {
	file, process, org, thread, category, user, level, reqID, activity, op string
	hasReqIDField, onHead                                                  bool
	time                                                                   time.Time
	message                                                                string
	stack                                                                  int
}

// parsedFile is one checked trace file.
type parsedFile struct {
	name, host, process, id, app, date string
	pid, seq                           int
	header                             []string // values of the header lines
	records                            []parsedRecord
	size                               int64
}

// checkFile validates one trace file strictly against the grammar and the
// options it was written with, and returns what it found.
func checkFile(t *testing.T, path string, opts Options, h Host) parsedFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pf := parsedFile{name: filepath.Base(path), size: int64(len(data))}
	m := fileNameRE.FindStringSubmatch(pf.name)
	if m == nil {
		t.Fatalf("%s: file name does not match {MACHINE}-{process}({pid}#{8-hex})-{application}-{yyyyMMdd}-{seq}.log", pf.name)
	}
	pf.host, pf.process, pf.id, pf.app, pf.date = m[1], m[2], m[4], m[5], m[6]
	pf.pid, _ = strconv.Atoi(m[3])
	pf.seq, _ = strconv.Atoi(m[7])
	if pf.host != h.Name || pf.pid%4 != 0 || pf.seq < 1 {
		t.Errorf("%s: host %q (want %q), pid %d (want a multiple of 4), seq %d", pf.name, pf.host, h.Name, pf.pid, pf.seq)
	}
	nl := "\r\n"
	if opts.LF {
		nl = "\n"
	}
	if len(data) == 0 || !bytes.HasSuffix(data, []byte(nl)) {
		t.Fatalf("%s: file does not end with a complete line (%q)", pf.name, nl)
	}
	text := strings.TrimSuffix(string(data), nl)
	if !opts.LF && strings.Count(text, "\n") != strings.Count(text, "\r\n") {
		t.Fatalf("%s: mixed line endings", pf.name)
	}
	lines := strings.Split(text, nl)
	if len(lines) < len(headerRE)+1 {
		t.Fatalf("%s: %d lines, want a header and at least one record", pf.name, len(lines))
	}
	for i, re := range headerRE {
		hm := re.FindStringSubmatch(lines[i])
		if hm == nil {
			t.Fatalf("%s line %d: header line %q does not match %s", pf.name, i+1, lines[i], re)
		}
		pf.header = append(pf.header, hm[len(hm)-1])
	}
	wantCS := map[bool]string{true: "True", false: "False"}[opts.CallStack]
	if got := pf.header; got[0] != pf.name || got[2] != opts.Categories || got[3] != wantCS ||
		got[4] != h.Name || got[5] != h.CRMVersion || got[7] != h.ScaleGroup || got[8] != strings.Join(event.RoleStrings(h.Roles), ", ") {
		t.Errorf("%s: header %q disagrees with options/host %+v", pf.name, got, h)
	}
	pf.records = checkRecords(t, pf, lines[len(headerRE):], len(headerRE), opts, h)
	return pf
}

// checkRecords validates the record lines of a file.
func checkRecords(t *testing.T, pf parsedFile, lines []string, base int, opts Options, h Host) []parsedRecord {
	t.Helper()
	filter, err := parseCategories(opts.Categories)
	if err != nil {
		t.Fatal(err)
	}
	ver := h.CRMVersion
	var recs []parsedRecord
	var cur *parsedRecord
	// started: the message has begun (a `>` line, or on the head line);
	// inBody: message lines follow, so no call-stack line may come.
	started, inBody := false, false
	for i, line := range lines {
		where := fmt.Sprintf("%s line %d", pf.name, base+i+1)
		if strings.HasPrefix(line, "[") {
			hm := headRE.FindStringSubmatch(line)
			if hm == nil {
				t.Fatalf("%s: head line does not match the grammar:\n%s", where, line)
			}
			recs = append(recs, headRecord(t, where, hm, pf, ver, filter))
			cur = &recs[len(recs)-1]
			started, inBody = cur.onHead, cur.onHead
			continue
		}
		if cur == nil {
			t.Fatalf("%s: text before the first record: %q", where, line)
		}
		switch {
		case strings.HasPrefix(line, "#"):
			t.Fatalf("%s: header line inside the records: %q", where, line)
		case !inBody && strings.HasPrefix(line, "\t"):
			if !opts.CallStack || !stackRE.MatchString(line) {
				t.Fatalf("%s: call-stack line %q (CallStackOn %v)", where, line, opts.CallStack)
			}
			cur.stack++
		case !started && strings.HasPrefix(line, ">"):
			started, inBody = true, true
			cur.message = line[1:]
		case started:
			inBody = true
			cur.message += "\n" + line
		default:
			t.Fatalf("%s: line is neither a call-stack line nor a `>` message: %q", where, line)
		}
	}
	if opts.CallStack {
		for _, r := range recs {
			if r.stack == 0 && !r.onHead {
				t.Fatalf("%s: record at %s has no call stack although CallStackOn", pf.name, r.time)
			}
		}
	}
	return recs
}

// headRecord checks the per-release details of a head line (reference §2.2).
func headRecord(t *testing.T, where string, hm []string, pf parsedFile, ver string, filter categoryFilter) parsedRecord {
	t.Helper()
	r := parsedRecord{
		file: pf.name, process: hm[3], org: hm[4], thread: hm[5], category: hm[6], user: hm[7], level: hm[8],
		hasReqIDField: hm[9] != "", reqID: hm[10], activity: hm[11], op: hm[12], onHead: hm[15] != "",
	}
	if r.onHead {
		r.message = hm[15]
	}
	legacy, v2016 := strings.HasPrefix(ver, "4."), strings.HasPrefix(ver, "8.")
	sandbox := strings.HasPrefix(r.process, "Microsoft.Crm.Sandbox")
	frac := hm[1][strings.IndexByte(hm[1], '.')+1:]
	fail := func(why string) { t.Fatalf("%s: %s (CRM %s):\n%s", where, why, ver, hm[0]) }
	switch {
	case r.process != pf.process:
		fail("process differs from the file name")
	case !slices.Contains(knownCategories, r.category):
		fail("category not in the reference list")
	case !filter.allows(r.category, mustLevel(r.level)):
		fail("record not allowed by the header's Categories")
	case (hm[2] == "") != sandbox:
		fail(`"Process:" without a space is the sandbox form only`)
	case legacy && (r.hasReqIDField || hm[13] != "" || len(frac) > 1 && frac[len(frac)-1] == '0'):
		fail("CRM 4.0 heads have no ReqId, no ilOffset and a trimmed fraction")
	case !legacy && len(frac) != 3:
		fail("CRM 2011+ writes three fraction digits")
	case sandbox && (r.hasReqIDField || hm[13] != ""):
		fail("sandbox heads have no ReqId and no ilOffset")
	case !legacy && !sandbox && !r.hasReqIDField:
		fail("ReqId field missing")
	case (r.activity != "") != (v2016 && r.hasReqIDField):
		fail("ActivityId belongs to CRM 2016 heads with a ReqId")
	case hm[13] != "" && v2016 != (hm[13] == "  "):
		fail("ilOffset separator: two spaces in CRM 2016, one before")
	case r.onHead && !sandbox:
		fail("a message on the head line is the sandbox form")
	case legacy && strings.HasPrefix(r.category, "Sandbox"):
		fail("CRM 4.0 had no sandbox")
	}
	if !strings.HasPrefix(r.thread, "7(") {
		padded := len(r.thread) >= 4
		if (legacy || v2016) != padded || !padded && strings.HasPrefix(r.thread, " ") {
			fail("thread padding: 4 columns in CRM 4.0/2016, none in 2011/2013")
		}
	}
	var err error
	r.time, err = time.ParseInLocation("2006-01-02 15:04:05.999", hm[1], time.UTC)
	if err != nil {
		fail(err.Error())
	}
	if got := r.time.Format("20060102"); got != pf.date {
		fail("record date " + got + " differs from the file name's date")
	}
	return r
}

func mustLevel(s string) level {
	l, ok := parseLevel(s)
	if !ok {
		panic(s)
	}
	return l
}

// checkFarm checks every file the farm wrote and returns them by host.
func checkFarm(t *testing.T, f *Farm) map[string][]parsedFile {
	t.Helper()
	out := map[string][]parsedFile{}
	for _, h := range f.Hosts() {
		names, err := os.ReadDir(h.TraceDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range names {
			pf := checkFile(t, filepath.Join(h.TraceDir, de.Name()), f.opts, h)
			out[h.Name] = append(out[h.Name], pf)
		}
		checkSequences(t, out[h.Name])
	}
	return out
}

// checkSequences: per process instance and date, sequence numbers run 1..N
// without gaps and records are in time order across them.
func checkSequences(t *testing.T, files []parsedFile) {
	t.Helper()
	type key struct{ proc, id, app, date string }
	groups := map[key][]parsedFile{}
	for _, pf := range files {
		k := key{pf.process, pf.id, pf.app, pf.date}
		groups[k] = append(groups[k], pf)
	}
	for k, g := range groups {
		sort.Slice(g, func(i, j int) bool { return g[i].seq < g[j].seq })
		var last time.Time
		for i, pf := range g {
			if pf.seq != i+1 {
				t.Fatalf("%v: sequence numbers %d.. have a gap at %s", k, g[0].seq, pf.name)
			}
			for _, r := range pf.records {
				if r.time.Before(last) {
					t.Fatalf("%s: record at %s is before the previous one (%s)", pf.name, r.time, last)
				}
				last = r.time
			}
		}
	}
}

// allRecords flattens a checked farm.
func allRecords(files map[string][]parsedFile) []parsedRecord {
	var out []parsedRecord
	for _, fs := range files {
		for _, pf := range fs {
			out = append(out, pf.records...)
		}
	}
	return out
}
