package rules

import (
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// The same SQL error on every application server is a database problem:
// one alert naming all hosts and organizations, not ten.
func TestCorrelationOneAlertForManyHosts(t *testing.T) {
	e, rec := newEngine(t, `
- id: sql.down
  kind: correlation
  severity: critical
  summary: 'SQL unreachable from {{len .Hosts}} servers ({{join .Hosts ","}}) for {{join .Organizations ","}}'
  resolve_after: 10m
  correlation:
    event: {categories: ["Platform.Sql.*"], min_level: error, message: 'SQL Server does not exist or access denied'}
    count: 6
    min_hosts: 3
    within: 2m
`)
	sqlErr := func(d time.Duration, host, o string) event.Event {
		return evt(d, host, "trace", 0, event.LevelError, "SqlException: SQL Server does not exist or access denied.", cat("Platform.Sql.Connection"), org(o))
	}
	// Six errors from two hosts: not enough hosts.
	var evs []event.Event
	for i := range 6 {
		evs = append(evs, sqlErr(time.Duration(i)*time.Second, []string{"APP1", "APP2"}[i%2], "Contoso"))
	}
	processEvents(t, e, evs...)
	checkChanges(t, rec.take())
	// Old ones leave the window; errors from 3 more servers arrive.
	evs = evs[:0]
	for i, h := range []string{"APP3", "APP4", "APP5", "APP1", "APP2", "APP3"} {
		evs = append(evs, sqlErr(3*time.Minute+time.Duration(i)*time.Second, h, []string{"Contoso", "Fabrikam"}[i%2]))
	}
	processEvents(t, e, evs...)
	cs := rec.take()
	checkChanges(t, cs, want{alerts.ChangeRaised, "sql.down", "", alerts.SeverityCritical, 6, 3 * time.Minute})
	a := cs[0].Alert
	if a.Summary != "SQL unreachable from 5 servers (APP1,APP2,APP3,APP4,APP5) for Contoso,Fabrikam" {
		t.Errorf("summary %q", a.Summary)
	}
	if len(cs[0].Events) != alerts.ChangeEvents.Max() || !strings.Contains(cs[0].Events[0].Message, "SqlException") {
		t.Errorf("events %d", len(cs[0].Events))
	}
	// More errors repeat the one alert; quiet for resolve_after resolves it.
	processEvents(t, e, sqlErr(4*time.Minute, "APP6", "Contoso"))
	cs = rec.take()
	checkChanges(t, cs, want{alerts.ChangeRepeated, "sql.down", "", alerts.SeverityCritical, 7, 4 * time.Minute})
	if len(cs[0].Alert.Hosts) != 6 {
		t.Errorf("hosts %v", cs[0].Alert.Hosts)
	}
	tick(t, e, 14*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "sql.down", "", alerts.SeverityCritical, 7, 14 * time.Minute})
}

func TestCorrelationByOrganization(t *testing.T) {
	e, rec := newEngine(t, `
- id: auth.failures
  kind: correlation
  summary: s
  group_by: [host]
  correlation: {event: {sources: [MSCRMWebService], min_level: warning}, count: 3, min_organizations: 3, within: 1m}
`)
	processEvents(t, e,
		evt(0, "APP1", "MSCRMWebService", 0, event.LevelWarning, "x", org("A")),
		evt(time.Second, "APP1", "MSCRMWebService", 0, event.LevelError, "x", org("B")),
		evt(2*time.Second, "APP2", "MSCRMWebService", 0, event.LevelWarning, "x", org("C")),
		evt(3*time.Second, "APP1", "MSCRMWebService", 0, event.LevelWarning, "x", org("C")))
	// Derived severity: the highest level in the window (one Error).
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "auth.failures", "host=APP1", alerts.SeverityError, 3, 0})
}
