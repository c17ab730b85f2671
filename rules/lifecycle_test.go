package rules

import (
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// A condition that returns within reopen_within reopens the same alert; a
// later one raises a new alert.
func TestReopenWithinWindow(t *testing.T) {
	e, rec := newEngine(t, `- {id: r, kind: event, summary: s, resolve_after: 10m, reopen_within: 5m, event: {min_level: error}}`)
	processEvents(t, e, evt(0, "APP1", "trace", 0, event.LevelError, "x"))
	id := rec.take()[0].Alert.ID
	tick(t, e, 10*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "r", "host=APP1|organization=", alerts.SeverityError, 1, 10 * time.Minute})
	processEvents(t, e, evt(14*time.Minute, "APP1", "trace", 0, event.LevelError, "x"))
	cs := rec.take()
	checkChanges(t, cs, want{alerts.ChangeReopened, "r", "host=APP1|organization=", alerts.SeverityError, 2, 14 * time.Minute})
	if cs[0].Alert.ID != id || cs[0].Alert.State != alerts.StateNew || cs[0].Alert.ResolvedAt != nil || cs[0].EventCount != 1 {
		t.Fatalf("reopened alert: %s", describeOne(cs[0]))
	}
	tick(t, e, 24*time.Minute) // resolved at 24m
	rec.take()
	processEvents(t, e, evt(30*time.Minute, "APP1", "trace", 0, event.LevelError, "x")) // 6m later: new alert
	cs = rec.take()
	checkChanges(t, cs, want{alerts.ChangeRaised, "r", "host=APP1|organization=", alerts.SeverityError, 1, 30 * time.Minute})
	if cs[0].Alert.ID == id {
		t.Fatal("a condition back after the reopen window must raise a new alert")
	}
	// reopen_within: 0s never reopens.
	e, rec = newEngine(t, `- {id: r, kind: event, summary: s, resolve_after: 10m, reopen_within: 0s, event: {min_level: error}}`)
	processEvents(t, e, evt(0, "APP1", "trace", 0, event.LevelError, "x"))
	tick(t, e, 10*time.Minute)
	processEvents(t, e, evt(11*time.Minute, "APP1", "trace", 0, event.LevelError, "x"))
	if cs := rec.take(); cs[len(cs)-1].Kind != alerts.ChangeRaised {
		t.Fatalf("reopen_within 0s reopened:\n%s", describe(cs))
	}
}

// A resolved alert restored from the store reopens after a restart too.
func TestReopenAfterRestore(t *testing.T) {
	src := `- {id: r, kind: event, summary: s, resolve_after: 10m, event: {min_level: error}}`
	e, rec := newEngine(t, src)
	processEvents(t, e, evt(0, "APP1", "trace", 0, event.LevelError, "x"))
	tick(t, e, 10*time.Minute)
	cs := rec.take()
	resolved := cs[len(cs)-1].Alert
	e2, rec2 := newEngine(t, src)
	e2.Restore([]alerts.Alert{resolved})
	processEvents(t, e2, evt(12*time.Minute, "APP1", "trace", 0, event.LevelError, "x"))
	cs = rec2.take()
	if len(cs) != 1 || cs[0].Kind != alerts.ChangeReopened || cs[0].Alert.ID != resolved.ID || cs[0].Alert.RepeatCount != 2 {
		t.Fatalf("after restore:\n%s", describe(cs))
	}
	if e2.MaxReopenWithin() != DefaultReopenWithin {
		t.Fatalf("MaxReopenWithin = %v", e2.MaxReopenWithin())
	}
}

const groupingRules = `
- {id: db, kind: correlation, severity: critical, summary: db, group_by: [], resolve_after: 10m,
   correlation: {event: {categories: [Platform.Sql], min_level: error}, count: 2, min_hosts: 2, within: 5m},
   explains: {rules: [crm.trace.*], same: [host, organization]}}
- {id: crm.trace.sql-error, kind: event, summary: s, resolve_after: 30m, event: {categories: [Platform.Sql], min_level: error}}
- {id: crm.trace.app-error, kind: event, summary: s, resolve_after: 30m, event: {categories: [Application], min_level: error}}
- {id: other, kind: event, summary: s, resolve_after: 30m, event: {categories: [Other], min_level: error}}
`

// Root-cause grouping: the correlation alert adopts the open alerts it
// explains, later ones join it at once, and its children go free when it
// resolves.
func TestGroupingUnderParent(t *testing.T) {
	e, rec := newEngine(t, groupingRules)
	sql := func(d time.Duration, host, o string) event.Event {
		return evt(d, host, "trace", 0, event.LevelError, "timeout", cat("Platform.Sql"), org(o))
	}
	processEvents(t, e, sql(0, "APP1", "Contoso"), evt(time.Second, "APP1", "trace", 0, event.LevelError, "other", cat("Other"), org("Contoso")))
	first := rec.take()
	childID := first[0].Alert.ID
	processEvents(t, e, sql(2*time.Second, "APP2", "Contoso"))
	cs := rec.take()
	var parent string
	grouped := 0
	for _, c := range cs {
		switch {
		case c.Alert.Rule == "db" && c.Kind == alerts.ChangeRaised:
			parent = c.Alert.ID
		case c.Kind == alerts.ChangeGrouped && c.Alert.ID == childID:
			grouped++
		case c.Alert.Rule == "crm.trace.sql-error" && c.Kind == alerts.ChangeRaised && c.Alert.Hosts[0] == "APP2":
			if c.Alert.ParentID == "" {
				t.Errorf("a child raised while its parent is open is raised grouped: %s", describeOne(c))
			}
		}
	}
	if parent == "" || grouped != 1 {
		t.Fatalf("parent %q, grouped %d:\n%s", parent, grouped, describe(cs))
	}
	// A child on a host or of an organization the parent does not name
	// stays top level; one it names is grouped.
	processEvents(t, e, evt(3*time.Second, "APP3", "trace", 0, event.LevelError, "app", cat("Application"), org("Contoso")),
		evt(4*time.Second, "APP1", "trace", 0, event.LevelError, "app", cat("Application"), org("Fabrikam")),
		evt(5*time.Second, "APP2", "trace", 0, event.LevelError, "app", cat("Application"), org("Contoso")))
	for _, c := range rec.take() {
		want := c.Alert.Hosts[0] == "APP2"
		if got := c.Alert.ParentID != ""; got != want {
			t.Errorf("grouped=%v, want %v: %s", got, want, describeOne(c))
		}
	}
	// The parent resolves (10m quiet); its still-open children are released.
	tick(t, e, 10*time.Minute+2*time.Second)
	ungrouped := 0
	for _, c := range rec.take() {
		if c.Kind == alerts.ChangeUngrouped {
			ungrouped++
			if c.Alert.ParentID != "" {
				t.Errorf("ungrouped change still has a parent: %s", describeOne(c))
			}
		}
	}
	if ungrouped != 3 {
		t.Fatalf("ungrouped %d children, want 3", ungrouped)
	}
}

func TestExplainsValidation(t *testing.T) {
	for _, src := range []string{
		`- {id: p, kind: event, summary: s, event: {min_level: error}, explains: {rules: []}}`,
		`- {id: p, kind: event, summary: s, event: {min_level: error}, explains: {rules: ["*"]}}`,
		`- {id: p, kind: event, summary: s, event: {min_level: error}, explains: {rules: [a*b]}}`,
		`- {id: p, kind: event, summary: s, event: {min_level: error}, explains: {rules: [p]}}`,
		`- {id: p, kind: event, summary: s, event: {min_level: error}, explains: {rules: [x], same: [role]}}`,
	} {
		if err := Validate(parseRules(t, src)); err == nil {
			t.Errorf("accepted: %s", src)
		}
	}
}

// After Resume, silence before it does not count: a server that was down
// for 10 minutes does not page every agent when it comes back.
func TestResumeGraceForAgents(t *testing.T) {
	e, rec := newEngine(t, `- {id: agent, kind: missing, summary: s, missing: {agent: true, after: 3m}}`)
	heartbeat(t, e, "APP1", nil, 0)
	e.Resume(at(10 * time.Minute))
	tick(t, e, 10*time.Minute+time.Second)
	if cs := rec.take(); len(cs) != 0 {
		t.Fatalf("paged right after resume:\n%s", describe(cs))
	}
	tick(t, e, 13*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "agent", "host=APP1", alerts.SeverityError, 1, 13 * time.Minute})
}

// Reset forgets alerts and state but keeps the rules.
func TestReset(t *testing.T) {
	e, rec := newEngine(t, `- {id: r, kind: event, summary: s, event: {min_level: error}}`)
	processEvents(t, e, evt(0, "APP1", "trace", 0, event.LevelError, "x"))
	rec.take()
	e.Reset()
	if len(e.OpenAlerts()) != 0 {
		t.Fatal("open alerts survived Reset")
	}
	processEvents(t, e, evt(time.Second, "APP1", "trace", 0, event.LevelError, "x"))
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "r", "host=APP1|organization=", alerts.SeverityError, 1, time.Second})
}
