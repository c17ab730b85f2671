package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/agent"
	"crmwatch/collectors"
	"crmwatch/collectors/eventlog"
)

const eventXMLDir = "../../collectors/eventlog/testdata/xml/"

// TestEventsRead: `events read --json` prints one object per event with
// the documented keys; the text form one line per event.
func TestEventsRead(t *testing.T) {
	r := runRoot(t, "events", "read", "--json", eventXMLDir+"wevtutil-crm.xml")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), r.stdout)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "host", "provider", "event_id", "level", "record_id", "message", "data"} {
		if _, ok := first[k]; !ok {
			t.Errorf("key %q missing from %s", k, lines[0])
		}
	}
	if first["provider"] != "MSCRMSandboxClient" || first["event_id"] != 20242.0 || first["level"] != "error" ||
		first["record_id"] != 48211.0 || first["qualifiers"] != 49152.0 || first["time"] != "2026-11-29T08:15:02.1234567Z" {
		t.Errorf("first event %v", first)
	}
	r = runRoot(t, "events", "read", eventXMLDir)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 6 ||
		!strings.Contains(r.stdout, "2026-11-29T08:16:40.500Z  CRMASYNC01.contoso.local  error    MSCRMPlatform 17424  Error: RecurringSeriesExpansionOperation failed.") {
		t.Errorf("text form: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestEventsErrors: a missing file, a directory without event files and a
// file in neither format are named with what to do; the other files are
// still read and the exit status is 1.
func TestEventsErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "Application.evtx")
	notEvents := writeTemp(t, "notes.xml", "<notes><note>hello</note></notes>")
	empty := t.TempDir()
	good := eventXMLDir + "wevtutil-crm.xml"
	for _, sub := range []string{"read", "stats"} {
		r := runRoot(t, "events", sub, missing, notEvents, empty, good)
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1", sub, r.code)
		}
		for _, want := range []string{
			"crmwatch: events " + sub + ": " + missing + ": no such file or directory (give EVTX or event XML files, or directories holding them)\n",
			"crmwatch: events " + sub + ": " + notEvents + ": neither an EVTX file nor event XML (no <Event> element)\n",
			"crmwatch: events " + sub + ": " + empty + ": directory holds no *.evtx or *.xml files\n",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", sub, want, r.stderr)
			}
		}
		if !strings.Contains(r.stdout, "MSCRMSandboxClient") {
			t.Errorf("%s: the good file must still be read:\n%s", sub, r.stdout)
		}
	}
	broken := writeTemp(t, "cut.xml", "<Event><System><Provider Name='P'/><EventID>1</EventID><TimeCreated SystemTime='2026-01-02T03:04:05Z'/></System></Event><Event><System>")
	r := runRoot(t, "events", "read", broken)
	if r.code != 1 || !strings.Contains(r.stdout, "P 1") || !strings.Contains(r.stderr, broken+": event XML: XML syntax error") {
		t.Errorf("broken XML: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := writeTemp(t, "locked.xml", "<Event/>")
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		if r := runRoot(t, "events", "read", locked); r.code != 1 || !strings.Contains(r.stderr, "permission denied (run as a user who may read it") {
			t.Errorf("unreadable: exit %d %s", r.code, r.stderr)
		}
	}
}

// TestEventsStats summarises the rendered samples like trace stats.
func TestEventsStats(t *testing.T) {
	r := runRoot(t, "events", "stats", eventXMLDir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"files              2\n", "records            6\n", "by provider\n  MSCRMPlatform  ", "  error    4\n", "top events\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stats lack %q:\n%s", want, r.stdout)
		}
	}
	r = runRoot(t, "events", "stats", "--json", eventXMLDir)
	var st struct {
		Records   int              `json:"records"`
		ByLevel   map[string]int64 `json:"by_level"`
		TopEvents []map[string]any `json:"top_events"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Records != 6 || st.ByLevel["warning"] != 1 || len(st.TopEvents) != 6 {
		t.Errorf("--json: %v %+v", err, st)
	}
	if r := runRoot(t, "events", "stats", "--top", "0", eventXMLDir); r.code != 1 || !strings.Contains(r.stderr, "--top 0: want 1 or more") {
		t.Errorf("--top 0: exit %d %s", r.code, r.stderr)
	}
}

// TestAgentAcceptsEventLog: collectors.eventlog is a collector of the
// agent (it was refused as unknown before); its mistakes are reported.
func TestAgentAcceptsEventLog(t *testing.T) {
	reg, err := collectors.NewRegistry(agentFactories()...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := agent.ParseFile([]byte("collectors:\n  eventlog:\n    live: false\n    drop_dir: /var/lib/crmwatch/drop\n    min_level: info\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := f.Configs(reg, collectors.Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := cfgs["eventlog"].(*eventlog.Config); !ok || c.DropDir != "/var/lib/crmwatch/drop" || c.MinLevel != "info" {
		t.Errorf("eventlog config %#v", cfgs["eventlog"])
	}
	f, _ = agent.ParseFile([]byte("collectors:\n  eventlog:\n    live: false\n    batch_size: 0\n"))
	if _, err := f.Configs(reg, collectors.Plan{}); err == nil || !strings.Contains(err.Error(), "collectors.eventlog") ||
		!strings.Contains(err.Error(), "nothing to read: set drop_dir") || !strings.Contains(err.Error(), "batch_size 0") {
		t.Errorf("mistakes: %v", err)
	}
}
