package rules

import (
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

func heartbeat(t *testing.T, e *Engine, host string, roles []string, d time.Duration) {
	t.Helper()
	if err := e.Heartbeat(t.Context(), host, roles, at(d)); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
}

func TestMissingAgent(t *testing.T) {
	e, rec := newEngine(t, `
- id: agent.down
  kind: missing
  severity: critical
  summary: 'No heartbeat from {{.Host}}'
  roles: [AppServer]
  missing: {agent: true, after: 2m}
`)
	heartbeat(t, e, "APP1", []string{"AppServer"}, 0)
	heartbeat(t, e, "SQL1", []string{"SqlServer"}, 0) // not a role of the rule
	tick(t, e, time.Minute)
	checkChanges(t, rec.take())
	tick(t, e, 3*time.Minute)
	cs := rec.take()
	// Dated when it became missing, so every server computes the same id.
	checkChanges(t, cs, want{alerts.ChangeRaised, "agent.down", "host=APP1", alerts.SeverityCritical, 1, 2 * time.Minute})
	if cs[0].Alert.Summary != "No heartbeat from APP1" {
		t.Errorf("summary %q", cs[0].Alert.Summary)
	}
	tick(t, e, 4*time.Minute)
	checkChanges(t, rec.take())
	heartbeat(t, e, "APP1", []string{"AppServer"}, 5*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "agent.down", "host=APP1", alerts.SeverityCritical, 1, 5 * time.Minute})
}

func TestMissingCounterAndEvent(t *testing.T) {
	e, rec := newEngine(t, `
- id: crm.counters.gone
  kind: missing
  summary: 'CRM Server counters missing on {{.Host}}: run lodctr /r'
  missing: {counter: '\CRM Server(*)\Failed Organization Service Requests', after: 5m}
- id: monitoring.silent
  kind: missing
  severity: warning
  summary: 'No Monitoring Service result from {{.Host}}'
  missing: {after: 30m, event: {sources: [MSCRMMonitoringServerRole]}}
`)
	const c1 = `\CRM Server(OrganizationWebService)\Failed Organization Service Requests`
	const c2 = `\CRM Server(DiscoveryService)\Failed Organization Service Requests`
	processSamples(t, e, sample(0, "APP1", c1, 0), sample(0, "APP1", c2, 0))
	processEvents(t, e, evt(0, "APP1", "MSCRMMonitoringServerRole", 0, event.LevelInfo, "test passed"))
	processSamples(t, e, sample(4*time.Minute, "APP1", c2, 0)) // one instance is enough
	tick(t, e, 6*time.Minute)
	checkChanges(t, rec.take())
	tick(t, e, 10*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "crm.counters.gone", "host=APP1", alerts.SeverityError, 1, 9 * time.Minute})
	processSamples(t, e, sample(11*time.Minute, "APP1", c1, 0))
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "crm.counters.gone", "host=APP1", alerts.SeverityError, 1, 11 * time.Minute})
	processSamples(t, e, sample(30*time.Minute, "APP1", c1, 0))
	tick(t, e, 31*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "monitoring.silent", "host=APP1", alerts.SeverityWarning, 1, 30 * time.Minute})
	processEvents(t, e, evt(32*time.Minute, "APP1", "MSCRMMonitoringServerRole", 0, event.LevelInfo, "test passed"))
	checkChanges(t, rec.take(), want{alerts.ChangeResolved, "monitoring.silent", "host=APP1", alerts.SeverityWarning, 1, 32 * time.Minute})
}

// A host whose agent is silent gets the agent alert only, not one alert
// per missing counter and event as well; a host that announced itself
// but never sent the expected event is missing it too.
func TestMissingSuppressedBySilentAgent(t *testing.T) {
	e, rec := newEngine(t, `
- {id: agent.down, kind: missing, summary: s, missing: {agent: true, after: 5m}}
- {id: monitoring.silent, kind: missing, summary: s, missing: {after: 5m, event: {sources: [MSCRMMonitoringServerRole]}}}
`)
	heartbeat(t, e, "APP1", nil, 0)
	heartbeat(t, e, "APP2", nil, 0)
	heartbeat(t, e, "APP2", nil, 5*time.Minute)
	tick(t, e, 6*time.Minute)
	checkChanges(t, rec.take(),
		want{alerts.ChangeRaised, "agent.down", "host=APP1", alerts.SeverityError, 1, 5 * time.Minute},
		want{alerts.ChangeRaised, "monitoring.silent", "host=APP2", alerts.SeverityError, 1, 5 * time.Minute})
}
