package rules

import (
	"strconv"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

func TestEventMatching(t *testing.T) {
	base := evt(0, "APP1", "MSCRMPlatform", 17424, event.LevelError, "Query execution time of 119.1 seconds exceeded the threshold of 10 seconds. Thread: 30; Database: Contoso_MSCRM",
		org("Contoso"), cat("Platform.Sql"), func(e *event.Event) {
			e.Process = "w3wp"
			e.Fields = map[string]string{"thread": "30"}
		})
	cases := []struct {
		name  string
		match string // the rule's event block
		edit  func(*event.Event)
		want  bool
	}{
		{"source case-insensitive", `sources: [mscrmplatform]`, nil, true},
		{"source other", `sources: [MSCRMWebService]`, nil, false},
		{"source prefix", `sources: ["MSCRM*"]`, nil, true},
		{"event id", `event_ids: [17424, 17931]`, nil, true},
		{"event id other", `event_ids: [17931]`, nil, false},
		{"levels list", `levels: [warning, error]`, nil, true},
		{"levels list excludes", `levels: [critical]`, nil, false},
		{"min level", `min_level: warning`, nil, true},
		{"min level above", `min_level: critical`, nil, false},
		{"verbose below min level", `min_level: warning`, func(e *event.Event) { e.Level = event.LevelVerbose }, false},
		{"category dotted prefix", `categories: ["Platform.*"]`, nil, true},
		{"category dotted prefix matches itself", `categories: ["Platform.Sql.*"]`, nil, true},
		{"category dotted prefix needs a dot", `categories: ["Platform.*"]`, func(e *event.Event) { e.Category = "PlatformX" }, false},
		{"category exact", `categories: [platform.sql]`, nil, true},
		{"category exact other", `categories: [Platform.Async]`, nil, false},
		{"organization", `organizations: [contoso, fabrikam]`, nil, true},
		{"organization other", `organizations: [fabrikam]`, nil, false},
		{"process", `processes: [W3WP]`, nil, true},
		{"fields", `fields: {thread: "30"}`, nil, true},
		{"fields other", `fields: {thread: "31"}`, nil, false},
		{"fields absent", `fields: {user: x}`, nil, false},
		{"message", `message: 'exceeded the threshold'`, nil, true},
		{"message other", `message: 'deadlock'`, nil, false},
		{"all together", `{sources: [MSCRMPlatform], event_ids: [17424], min_level: error, categories: ["Platform.*"], organizations: [Contoso], message: 'Query'}`, nil, true},
		{"AND across fields", `{sources: [MSCRMPlatform], organizations: [Fabrikam]}`, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.match
			if m[0] != '{' {
				m = "{" + m + "}"
			}
			e, rec := newEngine(t, "- {id: r, kind: event, summary: s, event: "+m+"}")
			ev := base
			if tc.edit != nil {
				tc.edit(&ev)
			}
			processEvents(t, e, ev)
			if got := len(rec.take()) == 1; got != tc.want {
				t.Errorf("matched = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEventConsolidation(t *testing.T) {
	e, rec := newEngine(t, `
- id: crm.sql.slow
  kind: event
  summary: '{{.Count}} slow queries on {{.Host}} for {{.Organization}} ({{.Fields.seconds}}s)'
  knowledge: {cause: SQL is slow, resolution: Check blocking}
  event:
    sources: [MSCRMPlatform]
    min_level: warning
    message: 'Query execution time of (?P<seconds>[0-9.]+) seconds'
`)
	slow := func(d time.Duration, host, o string, lvl event.Level, secs string) event.Event {
		return evt(d, host, "MSCRMPlatform", 0, lvl, "Query execution time of "+secs+" seconds exceeded the threshold of 10 seconds.", org(o))
	}
	const key = "host=APP1|organization=Contoso"

	processEvents(t, e, slow(0, "APP1", "Contoso", event.LevelWarning, "12"), slow(time.Second, "APP1", "Contoso", event.LevelWarning, "13"),
		slow(2*time.Second, "APP1", "Contoso", event.LevelWarning, "119.1"))
	cs := rec.take()
	checkChanges(t, cs, want{alerts.ChangeRaised, "crm.sql.slow", key, alerts.SeverityWarning, 3, 0})
	a := cs[0].Alert
	if a.Summary != "3 slow queries on APP1 for Contoso (119.1s)" || a.Knowledge.Resolution != "Check blocking" || a.State != alerts.StateNew {
		t.Errorf("alert = %+v", a)
	}
	if len(cs[0].Events) != 3 || !a.LastSeen.Equal(at(2*time.Second)) {
		t.Errorf("events %d, last seen %v", len(cs[0].Events), a.LastSeen)
	}

	// A repeat in a later call, one from another host, then an error that
	// escalates the first alert.
	processEvents(t, e, slow(time.Minute, "APP1", "Contoso", event.LevelWarning, "14"), slow(time.Minute, "APP2", "Contoso", event.LevelWarning, "15"))
	checkChanges(t, rec.take(),
		want{alerts.ChangeRepeated, "crm.sql.slow", key, alerts.SeverityWarning, 4, time.Minute},
		want{alerts.ChangeRaised, "crm.sql.slow", "host=APP2|organization=Contoso", alerts.SeverityWarning, 1, time.Minute})
	processEvents(t, e, slow(2*time.Minute, "APP1", "Contoso", event.LevelError, "300"))
	checkChanges(t, rec.take(), want{alerts.ChangeSeverityChanged, "crm.sql.slow", key, alerts.SeverityError, 5, 2 * time.Minute})

	// resolve_after (default 1h) is measured from the last occurrence.
	tick(t, e, 61*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "crm.sql.slow", "host=APP2|organization=Contoso", alerts.SeverityWarning, 1, 61 * time.Minute})
	tick(t, e, 62*time.Minute)
	cs = rec.take()
	checkChanges(t, cs, want{alerts.ChangeResolved, "crm.sql.slow", key, alerts.SeverityError, 5, 62 * time.Minute})
	if cs[0].Alert.State != alerts.StateResolved || cs[0].Alert.ResolvedAt == nil {
		t.Errorf("resolved alert = %+v", cs[0].Alert)
	}
	if got := e.OpenAlerts(); len(got) != 0 {
		t.Errorf("open alerts after resolution: %d", len(got))
	}
}

// An event arriving after resolve_after without a Tick in between resolves
// the old alert and raises a new one with a new id (reopen_within 0s): virtual
// time alone decides.
func TestEventResolveAfterWithoutTick(t *testing.T) {
	e, rec := newEngine(t, `- {id: r, kind: event, severity: error, resolve_after: 10m, reopen_within: 0s, summary: s, event: {sources: [MSCRMPlatform]}}`)
	processEvents(t, e, evt(0, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	first := rec.take()[0].Alert.ID
	processEvents(t, e, evt(9*time.Minute, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"),
		evt(25*time.Minute, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	cs := rec.take()
	// The repeat and the resolution of the first alert coalesce into one
	// Resolved change carrying the latest state.
	checkChanges(t, cs,
		want{alerts.ChangeResolved, "r", "host=APP1|organization=", alerts.SeverityError, 2, 19 * time.Minute},
		want{alerts.ChangeRaised, "r", "host=APP1|organization=", alerts.SeverityError, 1, 25 * time.Minute})
	if cs[0].Alert.ID != first || cs[1].Alert.ID == first {
		t.Errorf("ids: first %s, then %s and %s", first, cs[0].Alert.ID, cs[1].Alert.ID)
	}

	// With the default reopen window the same call resolves and reopens
	// the alert: both are reported, each with the alert as it was then.
	e, rec = newEngine(t, `- {id: r, kind: event, severity: error, resolve_after: 10m, summary: s, event: {sources: [MSCRMPlatform]}}`)
	processEvents(t, e, evt(0, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	rec.take()
	processEvents(t, e, evt(9*time.Minute, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"),
		evt(25*time.Minute, "APP1", "MSCRMPlatform", 0, event.LevelError, "x"))
	cs = rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeResolved, "r", "host=APP1|organization=", alerts.SeverityError, 2, 19 * time.Minute},
		want{alerts.ChangeReopened, "r", "host=APP1|organization=", alerts.SeverityError, 3, 25 * time.Minute})
	if cs[0].Alert.State != alerts.StateResolved || cs[1].Alert.ID != cs[0].Alert.ID {
		t.Errorf("resolve then reopen:\n%s", describe(cs))
	}
}

// A flood of repeats in one call costs one change carrying a bounded
// sample: the first event and the latest ones.
func TestEventFloodCoalesced(t *testing.T) {
	e, rec := newEngine(t, `- {id: r, kind: event, summary: s, event: {min_level: error}}`)
	evs := make([]event.Event, 10000)
	for i := range evs {
		evs[i] = evt(time.Duration(i)*time.Millisecond, "APP1", "trace", 0, event.LevelError, "boom "+strconv.Itoa(i), org("Contoso"))
	}
	processEvents(t, e, evs...)
	cs := rec.take()
	if len(cs) != 1 || rec.calls != 1 {
		t.Fatalf("changes %d in %d calls, want 1 in 1", len(cs), rec.calls)
	}
	got := cs[0].Events
	if len(got) != alerts.ChangeEvents.Max() || got[0].Message != "boom 0" || got[len(got)-1].Message != "boom 9999" || got[1].Message != "boom 9996" {
		t.Errorf("sample: %d events, first %q, second %q, last %q", len(got), got[0].Message, got[1].Message, got[len(got)-1].Message)
	}
	if cs[0].Alert.RepeatCount != 10000 {
		t.Errorf("repeat count %d", cs[0].Alert.RepeatCount)
	}
}

// Two servers processing the same stream produce the same alert ids; a
// different first occurrence gives a different id.
func TestAlertIDsDeterministic(t *testing.T) {
	const rules = `- {id: r, kind: event, summary: s, event: {min_level: error}}`
	stream := []event.Event{
		evt(0, "APP1", "trace", 0, event.LevelError, "a", org("Contoso")),
		evt(time.Second, "APP2", "trace", 0, event.LevelError, "b", org("Contoso")),
	}
	ids := func(evs []event.Event) []string {
		e, rec := newEngine(t, rules)
		processEvents(t, e, evs...)
		var out []string
		for _, c := range rec.take() {
			out = append(out, c.Alert.ID)
		}
		return out
	}
	a, b := ids(stream), ids(stream)
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] || a[0] == a[1] || len(a[0]) != 16 {
		t.Errorf("ids %v and %v", a, b)
	}
	later := slicesClone(stream)
	later[0].Time = later[0].Time.Add(time.Millisecond)
	if c := ids(later); c[0] == a[0] {
		t.Errorf("same id %s for a different first occurrence", c[0])
	}
}

func slicesClone(evs []event.Event) []event.Event { return append([]event.Event(nil), evs...) }

func TestEventGroupByAndFields(t *testing.T) {
	e, rec := newEngine(t, `
- id: email.router
  kind: event
  summary: 'E-mail Router error #{{.Fields.code}} on {{join .Hosts ","}}'
  group_by: [code]
  event:
    sources: [MSCRMEmailLog]
    message: '^#(?P<code>[0-9]+) - '
`)
	processEvents(t, e,
		evt(0, "MAIL1", "MSCRMEmailLog", 0, event.LevelError, "#61042 - An error occurred while processing the outgoing e-mail message"),
		evt(time.Second, "MAIL2", "MSCRMEmailLog", 0, event.LevelError, "#61042 - An error occurred while processing the outgoing e-mail message"),
		evt(2*time.Second, "MAIL1", "MSCRMEmailLog", 0, event.LevelError, "#61040 - other"),
		evt(3*time.Second, "MAIL1", "MSCRMEmailLog", 0, event.LevelError, "no code here"))
	cs := rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeRaised, "email.router", "code=61042", alerts.SeverityError, 2, 0},
		want{alerts.ChangeRaised, "email.router", "code=61040", alerts.SeverityError, 1, 2 * time.Second})
	if s := cs[0].Alert.Summary; s != "E-mail Router error #61042 on MAIL1,MAIL2" {
		t.Errorf("summary %q", s)
	}
	if cs[0].Alert.Fields["code"] != "61042" || len(cs[0].Alert.Hosts) != 2 {
		t.Errorf("alert %+v", cs[0].Alert)
	}
}

func TestRoleFiltering(t *testing.T) {
	e, rec := newEngine(t, `- {id: async, kind: event, roles: [AsyncService], summary: s, event: {min_level: error}}`)
	processEvents(t, e,
		evt(0, "APP1", "trace", 0, event.LevelError, "x", role("AppServer")),
		evt(0, "ASYNC1", "trace", 0, event.LevelError, "x", role("asyncservice")),
		evt(0, "FULL1", "trace", 0, event.LevelError, "x", role("AppServer,AsyncService")),
		evt(0, "ASYNC2", "trace", 0, event.LevelError, "x"))
	if got := hostsOf(rec.take()); got != "ASYNC1 FULL1" {
		t.Errorf("alerts for %q", got)
	}
	// Once ASYNC2 announces its roles in a heartbeat, its events qualify.
	if err := e.Heartbeat(t.Context(), "ASYNC2", []string{"AsyncService"}, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	processEvents(t, e, evt(2*time.Second, "ASYNC2", "trace", 0, event.LevelError, "x"))
	if got := hostsOf(rec.take()); got != "ASYNC2" {
		t.Errorf("alerts for %q", got)
	}
}

func hostsOf(cs []alerts.Change) string {
	s := ""
	for _, c := range cs {
		if s != "" {
			s += " "
		}
		s += c.Alert.Hosts[0]
	}
	return s
}
