package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
)

// Three definitions of one CPU rule: the base for every other host, a
// higher threshold for APP1 (host names compare case-insensitively), and
// none for AsyncService hosts (the base excludes them).
const scopedCPU = `
- id: cpu
  kind: threshold
  summary: 'CPU {{.Value}}% on {{.Host}}'
  threshold: {counter: '\Processor(_Total)\% Processor Time', warning: 50}
  scope: {except_hosts: [app1], except_roles: [AsyncService]}
- id: cpu
  variant: host=APP1
  kind: threshold
  summary: 'CPU {{.Value}}% on {{.Host}}'
  threshold: {counter: '\Processor(_Total)\% Processor Time', warning: 90}
  scope: {hosts: [APP1], except_roles: [AsyncService]}
`

func TestScopedThresholdVariants(t *testing.T) {
	e, rec := newEngine(t, scopedCPU)
	ctx := context.Background()
	if err := e.Heartbeat(ctx, "ASYNC1", []string{"AsyncService"}, at(0)); err != nil {
		t.Fatal(err)
	}
	s := func(host, role string, v float64) event.Sample {
		x := sample(time.Minute, host, cpuPath, v)
		x.Role = role
		return x
	}
	processSamples(t, e,
		s("APP1", "", 70),               // under its own 90
		s("APP2", "", 70),               // over the base 50
		s("ASYNC1", "", 99),             // AsyncService by heartbeat: no rule
		s("ASYNC2", "AsyncService", 99), // AsyncService by the sample's role
		s("MIXED", "AppServer,AsyncService", 99))
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "cpu", "host=APP2|instance=_Total", alerts.SeverityWarning, 1, time.Minute})
	x := s("app1", "", 95)
	x.Time = at(2 * time.Minute)
	processSamples(t, e, x)
	cs := rec.take()
	checkChanges(t, cs, want{alerts.ChangeRaised, "cpu", "host=app1|instance=_Total", alerts.SeverityWarning, 1, 2 * time.Minute})
	if got := cs[0].Alert.Fields[VariantField]; got != "host=APP1" {
		t.Errorf("variant field %q, want host=APP1", got)
	}
	// The variant's alert id differs from what the base would give.
	if cs[0].Alert.ID == alertID("cpu", cs[0].Alert.Key, at(2*time.Minute)) {
		t.Error("a variant's alert id must be keyed by its internal id")
	}
}

// Events: a variant for host APP1 and the base excluding it; an AppServer
// variant that only knows the role from the event's Role field. Rules
// without host in group_by keep their variants' alerts apart by key.
func TestScopedEventVariants(t *testing.T) {
	e, rec := newEngine(t, `
- id: sql
  kind: event
  severity: error
  summary: s
  group_by: [organization]
  event: {sources: [trace], categories: [Platform.Sql], levels: [error]}
  scope: {except_hosts: [APP1], except_roles: [AppServer]}
- id: sql
  variant: host=APP1
  kind: event
  severity: critical
  summary: s
  group_by: [organization]
  event: {sources: [trace], categories: [Platform.Sql], levels: [error]}
  scope: {hosts: [APP1]}
- id: sql
  variant: role=AppServer
  kind: event
  severity: warning
  summary: s
  group_by: [organization]
  event: {sources: [trace], categories: [Platform.Sql], levels: [error]}
  scope: {except_hosts: [APP1], all_roles: [AppServer]}
`)
	ev := func(host, r string) event.Event {
		return evt(0, host, "trace", 0, event.LevelError, "timeout", cat("Platform.Sql"), org("Contoso"), role(r))
	}
	processEvents(t, e, ev("APP1", "AppServer"), ev("APP2", "AppServer"), ev("SQL1", "SqlServer"), ev("APP3", "AppServer"))
	checkChanges(t, rec.take(),
		want{alerts.ChangeRaised, "sql", "organization=Contoso|variant=host=APP1", alerts.SeverityCritical, 1, 0},
		want{alerts.ChangeRaised, "sql", "organization=Contoso|variant=role=AppServer", alerts.SeverityWarning, 2, 0},
		want{alerts.ChangeRaised, "sql", "organization=Contoso", alerts.SeverityError, 1, 0})
}

// Restore resumes each variant's alert under its own state (by the variant
// field), and a variant that is no longer loaded resolves.
func TestScopedRestore(t *testing.T) {
	e, rec := newEngine(t, scopedCPU)
	open := []alerts.Alert{
		{ID: "a1", Rule: "cpu", Key: "host=APP1|instance=_Total", Severity: alerts.SeverityWarning, State: alerts.StateNew,
			RepeatCount: 1, FirstSeen: at(0), LastSeen: at(0), Hosts: []string{"APP1"}, Fields: map[string]string{VariantField: "host=APP1"}},
		{ID: "a2", Rule: "cpu", Key: "host=APP3|instance=_Total", Severity: alerts.SeverityWarning, State: alerts.StateNew,
			RepeatCount: 1, FirstSeen: at(0), LastSeen: at(0), Hosts: []string{"APP3"}, Fields: map[string]string{VariantField: "host=APP3"}},
	}
	e.Restore(open)
	processSamples(t, e, sample(time.Minute, "APP1", cpuPath, 95))
	cs := rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeResolved, "cpu", "host=APP3|instance=_Total", alerts.SeverityWarning, 1, 0},
		want{alerts.ChangeRepeated, "cpu", "host=APP1|instance=_Total", alerts.SeverityWarning, 2, time.Minute})
	if cs[1].Alert.ID != "a1" {
		t.Errorf("restored variant alert got id %s, want a1", cs[1].Alert.ID)
	}
}

// Missing-agent rules honour the scope on heartbeats and ticks.
func TestScopedMissingAgent(t *testing.T) {
	e, rec := newEngine(t, `
- {id: agent, kind: missing, summary: s, missing: {agent: true, after: 5m}, scope: {except_hosts: [APP1]}}
- {id: agent, variant: host=APP1, kind: missing, severity: critical, summary: s, missing: {agent: true, after: 30m}, scope: {hosts: [APP1]}}
`)
	ctx := context.Background()
	for _, h := range []string{"APP1", "APP2"} {
		if err := e.Heartbeat(ctx, h, []string{"AppServer"}, at(0)); err != nil {
			t.Fatal(err)
		}
	}
	tick(t, e, 10*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "agent", "host=APP2", alerts.SeverityError, 1, 5 * time.Minute})
	tick(t, e, 40*time.Minute)
	checkChanges(t, rec.take(), want{alerts.ChangeRaised, "agent", "host=APP1", alerts.SeverityCritical, 1, 30 * time.Minute})
}

func TestScopeValidation(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`- {id: a, kind: event, summary: s, event: {levels: [error]}, scope: {}}`, "scope: empty"},
		{`- {id: a, kind: event, summary: s, event: {levels: [error]}, scope: {all_roles: [X], except_roles: [x]}}`, "both all_roles and except_roles"},
		{`- {id: a, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [A], except_hosts: [a]}}`, "both hosts and except_hosts"},
		{`- {id: a, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [" "]}}`, "hosts[0]: empty host name"},
		{`- {id: a, variant: v, kind: event, summary: s, event: {levels: [error]}}`, "variant: a variant needs a scope"},
		{`- {id: a, variant: "v|w", kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [A]}}`, "must not contain"},
		{"- {id: a, variant: v, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [A]}}\n" +
			"- {id: a, variant: v, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [B]}}", `rule "a@v": id: duplicate`},
	} {
		err := Validate(parseRules(t, tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n got %v\n want …%s…", tc.src, err, tc.want)
		}
	}
	ok := "- {id: a, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [A]}}\n" +
		"- {id: a, variant: b, kind: event, summary: s, event: {levels: [error]}, scope: {hosts: [B]}}"
	if err := Validate(parseRules(t, ok)); err != nil {
		t.Errorf("base and variant of one id: %v", err)
	}
}
