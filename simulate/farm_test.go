package simulate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/event"
)

// testStart is just before midnight so short runs cross a date change.
var testStart = time.Date(2026, 1, 31, 23, 59, 40, 0, time.UTC)

func newTestFarm(t *testing.T, opts Options) *Farm {
	t.Helper()
	if opts.Out == "" {
		opts.Out = t.TempDir()
	}
	if opts.Start.IsZero() {
		opts.Start = testStart
	}
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func generate(t *testing.T, f *Farm, n int) map[string][]parsedFile {
	t.Helper()
	if err := f.Generate(n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return checkFarm(t, f)
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := Options{Hosts: 9, Orgs: 7, Seed: 42, CallStack: true, FileSizeLimit: 64 << 10,
		Faults: []string{FaultSQLTimeouts, FaultSandboxCrash, FaultPrivilegeErrors}}
	run := func(seed int64) map[string][]byte {
		o := opts
		o.Seed = seed
		f := newTestFarm(t, o)
		generate(t, f, 400)
		return readTree(t, f.opts.Out)
	}
	a, b, c := run(42), run(42), run(43)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("same seed: %d files vs %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Fatalf("same seed and start: %s differs", name)
		}
	}
	same := 0
	for name, data := range a {
		if bytes.Equal(data, c[name]) {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("a different seed wrote the same files")
	}
}

func TestEveryVariantIsWritten(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 12, Seed: 7, CallStack: true,
		Faults: []string{FaultSandboxCrash, FaultPrivilegeErrors, FaultSQLTimeouts}})
	files := generate(t, f, 1500)
	recs := allRecords(files)
	has := map[string]bool{}
	for _, r := range recs {
		has["level "+r.level] = true
		has["process "+r.process] = true
		has["category "+r.category] = true
		switch {
		case r.activity != "":
			has["ActivityId"] = true
		case r.hasReqIDField && r.reqID == "":
			has["empty ReqId"] = true
		case !r.hasReqIDField:
			has["no ReqId"] = true
		}
		if r.onHead && strings.HasPrefix(r.message, "Access Denied") {
			has["Access Denied on the head line"] = true
		}
		if strings.Contains(r.message, "\n") {
			has["multi-line message"] = true
		}
		if strings.HasPrefix(r.message, "MSCRM Error Report:\n"+strings.Repeat("-", 104)+"\nError: ") {
			has["MSCRM Error Report"] = true
		}
		if strings.HasPrefix(r.thread, "7(MSCRM:-RegistryWatcher") {
			has["registry watcher thread"] = true
		}
		if r.org == zeroGUID {
			has["zero organization"] = true
		}
	}
	for _, want := range []string{
		"level Error", "level Warning", "level Info", "level Verbose",
		"process w3wp", "process CrmAsyncService", "process Microsoft.Crm.Sandbox.HostService", "process Microsoft.Crm.Sandbox.WorkerProcess",
		"category Platform.Sql", "category Platform.Async", "category Sandbox", "category Exception", "category Deployment.Sdk",
		"ActivityId", "empty ReqId", "no ReqId", "Access Denied on the head line", "multi-line message",
		"MSCRM Error Report", "zero organization",
	} {
		if !has[want] {
			t.Errorf("no record with %s in %d records", want, len(recs))
		}
	}
	// Several records share a ReqId (requests span records).
	byReq := map[string]int{}
	for _, r := range recs {
		if r.reqID != "" {
			byReq[r.reqID]++
		}
	}
	multi := 0
	for _, n := range byReq {
		if n > 1 {
			multi++
		}
	}
	if multi < len(byReq)/4 {
		t.Errorf("only %d of %d requests span several records", multi, len(byReq))
	}
}

func TestRollOverAndDateChange(t *testing.T) {
	const limit = 4096
	f := newTestFarm(t, Options{Hosts: 1, Seed: 3, FileSizeLimit: limit, Rate: 5})
	files := generate(t, f, 300) // 60 s from 23:59:40: crosses midnight
	dates := map[string]bool{}
	seqs := map[string]int{}
	for _, pf := range files["CRMAPP01"] {
		dates[pf.date] = true
		if pf.size > limit && len(pf.records) > 1 {
			t.Errorf("%s: %d bytes with %d records exceeds the %d limit", pf.name, pf.size, len(pf.records), limit)
		}
		if pf.app == "CRMWeb" && pf.seq > seqs[pf.date] {
			seqs[pf.date] = pf.seq
		}
	}
	if !dates["20260131"] || !dates["20260201"] {
		t.Errorf("files for dates %v, want both sides of midnight", dates)
	}
	if seqs["20260131"] < 2 || seqs["20260201"] < 2 {
		t.Errorf("CRMWeb sequences per date %v, want roll-overs to -2.log and beyond on both dates", seqs)
	}
	// -2.log starts with its own header block.
	matches, _ := filepath.Glob(filepath.Join(f.Hosts()[0].TraceDir, "*-CRMWeb-20260201-2.log"))
	if len(matches) != 1 {
		t.Fatalf("want one CRMWeb -2.log of 20260201, got %v", matches)
	}
	b, _ := os.ReadFile(matches[0])
	if !bytes.HasPrefix(b, []byte("# "+filepath.Base(matches[0])+"\r\n# LocalTime: 2026-02-01 ")) {
		t.Errorf("-2.log does not start with its own header: %q", b[:min(len(b), 120)])
	}
}

func TestFaultsProduceTheirRecords(t *testing.T) {
	cases := []struct {
		fault, category, level, text string
	}{
		{FaultSQLTimeouts, "Platform.Sql", "Error", "Timeout expired."},
		{FaultSlowQueries, "Platform.Sql", "Warning", "exceeded the threshold of 10 seconds. Thread: "},
		{FaultAsyncBacklog, "Platform.Async", "Warning", "ready operations waiting"},
		{FaultAuthFailures, "Platform", "Error", "authentication failed"},
		{FaultSandboxCrash, "Sandbox", "Error", "The plug-in execution failed because the Sandbox Worker process crashed."},
		{FaultPrivilegeErrors, "Exception", "Error", "SecLib::CrmCheckPrivilege failed. Returned hr = -2147220960"},
		{FaultWebErrors, "Application", "Error", "failed with exception System.NullReferenceException"},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.fault] = true
		t.Run(tc.fault, func(t *testing.T) {
			count := func(faults []string) int {
				f := newTestFarm(t, Options{Seed: 11, Faults: faults})
				n := 0
				for _, r := range allRecords(generate(t, f, 1000)) {
					if r.category == tc.category && r.level == tc.level && strings.Contains(r.message, tc.text) {
						n++
					}
				}
				return n
			}
			with, without := count([]string{tc.fault}), count(nil)
			if with < 10 || with < 5*without {
				t.Errorf("%s: %d %s %s records with %q (without the fault: %d)", tc.fault, with, tc.level, tc.category, tc.text, without)
			}
		})
	}
	for _, name := range FaultNames() {
		if !covered[name] {
			t.Errorf("fault %s has no test case", name)
		}
		if _, ok := traceFaults[name]; !ok {
			t.Errorf("fault %s has no trace effect", name)
		}
	}
}

func TestSandboxCrashRestartsTheWorker(t *testing.T) {
	f := newTestFarm(t, Options{Seed: 5, Faults: []string{FaultSandboxCrash}})
	files := generate(t, f, 2000)
	pids := map[int]bool{}
	for _, pf := range files["CRMASYNC01"] {
		if pf.app == "SandboxWorker" {
			pids[pf.pid] = true
		}
	}
	if len(pids) < 2 {
		t.Errorf("sandbox worker ran as %d process(es); a crash must start a new one with its own file", len(pids))
	}
}

func TestCategoriesAgreeWithRecords(t *testing.T) {
	cases := []struct {
		categories string
		allowed    func(cat, lvl string) bool
	}{
		{"*:Error", func(_, lvl string) bool { return lvl == "Error" }},
		{"*:Warning", func(_, lvl string) bool { return lvl == "Error" || lvl == "Warning" }},
		{"Platform.Sql:Verbose;Platform.*:Warning;*:Off", func(cat, lvl string) bool {
			return cat == "Platform.Sql" || strings.HasPrefix(cat, "Platform") && (lvl == "Error" || lvl == "Warning")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.categories, func(t *testing.T) {
			f := newTestFarm(t, Options{Seed: 9, Categories: tc.categories, Faults: []string{FaultSQLTimeouts, FaultSlowQueries}})
			files := generate(t, f, 100) // checkFile also checks the header's Categories
			for _, r := range allRecords(files) {
				if !tc.allowed(r.category, r.level) {
					t.Fatalf("%s %s record written under %q", r.level, r.category, tc.categories)
				}
			}
		})
	}
}

func TestGenerateRejectsAFilterThatMatchesNothing(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 1, Categories: "Live.Portal:Verbose"})
	err := f.Generate(1)
	if err == nil || !strings.Contains(err.Error(), "Live.Portal:Verbose") {
		t.Fatalf("Generate with a filter nothing matches: %v", err)
	}
}

func TestInjectAndClear(t *testing.T) {
	// Only SQL errors are traced, so every record written comes from the fault.
	f := newTestFarm(t, Options{Hosts: 1, Seed: 2, Categories: "Platform.Sql:Error"})
	if err := f.Inject("no-such-fault", 0); err == nil || !strings.Contains(err.Error(), FaultSQLTimeouts) {
		t.Fatalf("unknown fault: %v, want an error listing the known ones", err)
	}
	if err := f.Inject(FaultSQLTimeouts, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Generate(30); err != nil {
		t.Fatalf("with sql-timeouts injected: %v", err)
	}
	f.Clear(FaultSQLTimeouts)
	if err := f.Generate(1); err == nil {
		t.Fatal("after Clear a Platform.Sql error was still written")
	}
	from := f.Now()
	if err := f.Inject(FaultSQLTimeouts, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.Generate(10); err != nil {
		t.Fatalf("within the fault window: %v", err)
	}
	if err := f.Generate(100000); err == nil {
		t.Fatal("the fault outlived its 2-minute window")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	recs := allRecords(checkFarm(t, f))
	late := 0
	for _, r := range recs {
		if r.time.After(from) && !r.time.Before(from.Add(2*time.Minute)) {
			late++
		}
	}
	if len(recs) < 40 || late > 0 {
		t.Fatalf("%d records, %d after the window closed", len(recs), late)
	}
	if err := f.Generate(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Generate after Close: %v, want ErrClosed", err)
	}
}

func TestRunStopsPromptlyWithCompleteFiles(t *testing.T) {
	f := newTestFarm(t, Options{Seed: 4, Rate: 500, Speed: 5, FileSizeLimit: 16 << 10, FlushInterval: 10 * time.Millisecond,
		Faults: []string{FaultSQLTimeouts}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats()[0].Trace.Records < 200 {
		if time.Now().After(deadline) {
			t.Fatal("Run wrote fewer than 200 records in 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of cancel")
	}
	files := checkFarm(t, f) // every file ends with a complete line and parses
	total := 0
	for _, fs := range files {
		for _, pf := range fs {
			total += len(pf.records)
		}
	}
	var want int64
	for _, s := range f.Stats() {
		want += s.Trace.Records
	}
	if int64(total) != want {
		t.Fatalf("files hold %d records, stats say %d", total, want)
	}
	if err := f.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Run: %v, want ErrClosed", err)
	}
}

func TestInjectWhileRunning(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 1, Seed: 8, Rate: 400, FlushInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	waitRecords := func(n int64) {
		deadline := time.Now().Add(10 * time.Second)
		for f.Stats()[0].Trace.Records < n {
			if time.Now().After(deadline) {
				t.Fatalf("Run wrote fewer than %d records in 10s", n)
			}
			time.Sleep(2 * time.Millisecond) // polling a condition
		}
	}
	waitRecords(50)
	injected := f.Now()
	if err := f.Inject(FaultSQLTimeouts, 0); err != nil {
		t.Fatal(err)
	}
	waitRecords(f.Stats()[0].Trace.Records + 400)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	errs := 0
	for _, r := range allRecords(checkFarm(t, f)) {
		if r.category == "Platform.Sql" && r.level == "Error" {
			errs++
			if r.time.Before(injected.Truncate(time.Millisecond)) {
				t.Fatalf("SQL timeout at %s before the fault was injected at %s", r.time, injected)
			}
		}
	}
	if errs == 0 {
		t.Fatal("no Platform.Sql errors after injecting sql-timeouts during Run")
	}
}

func TestInvalidOptionsNameEveryProblem(t *testing.T) {
	_, err := New(Options{Hosts: -1, Orgs: 20000, Rate: -3, FileSizeLimit: 100, Speed: -1,
		Categories: "Platform.Sql=Error;*:Loud", Faults: []string{"meltdown"}})
	if err == nil {
		t.Fatal("invalid options accepted")
	}
	for _, want := range []string{"out:", "hosts: -1", "orgs: 20000", "rate: -3", "file size limit: 100", "speed: -1",
		`entry "Platform.Sql=Error"`, `level "Loud"`, `unknown fault "meltdown"`, FaultSandboxCrash} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestHostsAreDeterministic(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 7})
	var got []string
	for _, h := range f.Hosts() {
		got = append(got, h.Name+":"+strings.Join(event.RoleStrings(h.Roles), "+")+":"+h.CRMVersion)
	}
	want := []string{
		"CRMAPP01:AppServer+SdkServer+DiscoveryService+HelpServer:8.2.0.749",
		"CRMASYNC01:AsyncService+SandboxService:8.2.0.749",
		"CRMDEP01:DeploymentService:8.2.0.749",
		"CRMAPP02:AppServer+SdkServer+DiscoveryService+HelpServer:5.0.9690.4376",
		"CRMASYNC02:AsyncService+SandboxService:5.0.9690.4376",
		"CRMDEP02:DeploymentService:5.0.9690.4376",
		"CRMAPP03:AppServer+SdkServer+DiscoveryService+HelpServer:4.0.7333.3822",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hosts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if orgs := f.Orgs(); len(orgs) != DefaultOrgs || orgs[0].Name != "Contoso" || orgs[0].Database != "Contoso_MSCRM" {
		t.Fatalf("orgs: %+v", orgs)
	}
}
