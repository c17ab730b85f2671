package simulate

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"crmwatch/tracing"
	"crmwatch/tracing/settings"
)

// traceFiles returns the host's trace files (name order) with their header
// and records, read by the project's own parser.
type readFile struct {
	name    string
	size    int64
	header  tracing.Header
	records []tracing.Record
}

func readTraceDir(t *testing.T, dir string) []readFile {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []readFile
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		r := tracing.NewReader(f)
		rf := readFile{name: e.Name(), size: fi.Size()}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			rf.records = append(rf.records, rec)
		}
		rf.header = r.Header()
		f.Close()
		out = append(out, rf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func writeSettings(t *testing.T, dir, host string, v settings.Values) {
	t.Helper()
	if err := settings.WriteFile(settingsPath(dir, host), v); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsFileChangesWhatTheHostTraces: the simulated host obeys its
// settings file as CRM obeys the registry — off writes nothing, a change
// with a new TraceRefresh starts new files whose header shows the new
// categories and call-stack flag, records follow the new levels, call
// stacks appear, the size limit is the file's; values written without a
// TraceRefresh change do nothing yet.
func TestSettingsFileChangesWhatTheHostTraces(t *testing.T) {
	sdir := t.TempDir()
	host := "CRMAPP01"
	writeSettings(t, sdir, host, settings.Values{Enabled: settings.Ptr(false), Refresh: settings.Ptr(0)})
	f := newTestFarm(t, Options{Hosts: 2, SettingsDir: sdir, LF: true})
	var dir string
	for _, h := range f.Hosts() {
		if h.Name == host {
			dir = h.TraceDir
		}
	}
	if err := f.Generate(200); err != nil {
		t.Fatal(err)
	}
	st := f.Stats()
	if st[0].Trace.Records != 0 || st[1].Trace.Records == 0 {
		t.Fatalf("TraceEnabled=0 on %s only: stats %+v", host, st)
	}

	on := settings.Values{Enabled: settings.Ptr(true), Categories: settings.Ptr("Platform.Sql:Verbose;Platform.*:Warning;*:Error"),
		CallStack: settings.Ptr(true), FileSizeMB: settings.Ptr(1), Refresh: settings.Ptr(1)}
	writeSettings(t, sdir, host, on)
	if err := f.Generate(6000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	files := readTraceDir(t, dir)
	if len(files) == 0 {
		t.Fatal("no trace files after tracing was turned on")
	}
	filter, _ := parseCategories(*on.Categories)
	stacks, rolled := 0, false
	for _, rf := range files {
		if rf.header.Categories != *on.Categories || rf.header.CallStackOn != "True" {
			t.Errorf("%s: header Categories %q CallStackOn %q", rf.name, rf.header.Categories, rf.header.CallStackOn)
		}
		if rf.size > 1<<20+64<<10 {
			t.Errorf("%s: %d bytes, over the 1 MB TraceFileSizeLimit", rf.name, rf.size)
		}
		if strings.HasSuffix(rf.name, "-2.log") {
			rolled = true
		}
		for _, rec := range rf.records {
			if !filter.allows(rec.Category, mustLevel(rec.Level)) {
				t.Fatalf("%s: record %s/%s passes no entry of %s", rf.name, rec.Category, rec.Level, *on.Categories)
			}
			if len(rec.CallStack) > 0 {
				stacks++
			}
		}
	}
	if stacks == 0 || !rolled {
		t.Errorf("call stacks %d, rolled over at 1 MB %v", stacks, rolled)
	}
	if got := f.Stats()[0].Trace.SettingsReloads; got != 2 {
		t.Errorf("settings reloads %d, want 2 (initial file, then the change)", got)
	}
}

func TestSettingsWaitForTraceRefreshAndSurviveABadFile(t *testing.T) {
	sdir := t.TempDir()
	host := "CRMAPP01"
	writeSettings(t, sdir, host, settings.Values{Categories: settings.Ptr("*:Error"), Refresh: settings.Ptr(5)})
	f := newTestFarm(t, Options{Hosts: 1, SettingsDir: sdir, LF: true, Faults: []string{FaultSQLTimeouts}})
	if err := f.Generate(50); err != nil {
		t.Fatal(err)
	}
	// New values, same TraceRefresh: CRM does not re-read them.
	writeSettings(t, sdir, host, settings.Values{Categories: settings.Ptr("*:Verbose"), Refresh: settings.Ptr(5)})
	if err := f.Generate(50); err != nil {
		t.Fatal(err)
	}
	// A broken file is counted and ignored.
	if err := os.WriteFile(settingsPath(sdir, host), []byte(`{"TraceEnabled": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Generate(50); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, rf := range readTraceDir(t, f.Hosts()[0].TraceDir) {
		if rf.header.Categories != "*:Error" {
			t.Errorf("%s: Categories %q; a change without a new TraceRefresh must not apply", rf.name, rf.header.Categories)
		}
	}
	if st := f.Stats()[0].Trace; st.SettingsErrors != 1 || st.SettingsReloads != 1 {
		t.Errorf("stats %+v, want 1 reload and 1 settings error", st)
	}
}
