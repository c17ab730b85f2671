package rules

import (
	"testing"
	"time"

	"crmwatch/alerts"
)

const wfFailed = `\CRM Async Service(mscrmasyncservice)\Workflow Operations Failed`

// The PAL pattern (crm-domain §1.2): Warning when the failure count went
// up, Critical when it rose in each of the last N samples, resolved after N
// samples without a rise; a counter reset is not a rise.
func TestTrendPAL(t *testing.T) {
	e, rec := newEngine(t, `
- id: wf.failed
  kind: trend
  summary: '{{.Counter}} rising on {{.Host}} ({{.Value}})'
  trend: {counter: '\CRM Async Service(mscrmasyncservice)\Workflow Operations Failed', samples: 3}
- id: sync.transient
  kind: trend
  summary: s
  trend: {counter: '\CRM Async Service(mscrmasyncservice)\Exchange Sync: Transient Errors for Tasks', samples: 2, max_severity: warning}
`)
	const key = "host=ASYNC1|instance=mscrmasyncservice"
	step := func(min int, v float64, wants ...want) {
		t.Helper()
		processSamples(t, e, sample(time.Duration(min)*time.Minute, "ASYNC1", wfFailed, v))
		checkChanges(t, rec.take(), wants...)
	}
	step(0, 7) // baseline: a count since boot is not a rise
	step(1, 7)
	step(2, 8, want{alerts.ChangeRaised, "wf.failed", key, alerts.SeverityWarning, 1, 2 * time.Minute})
	step(3, 9, want{alerts.ChangeRepeated, "wf.failed", key, alerts.SeverityWarning, 2, 3 * time.Minute})
	step(4, 12, want{alerts.ChangeSeverityChanged, "wf.failed", key, alerts.SeverityCritical, 3, 4 * time.Minute})
	step(5, 0, want{alerts.ChangeSeverityChanged, "wf.failed", key, alerts.SeverityWarning, 3, 5 * time.Minute}) // reset
	step(6, 0)
	step(7, 0, want{alerts.ChangeResolved, "wf.failed", key, alerts.SeverityWarning, 3, 7 * time.Minute})

	// Transient sync errors never go beyond warning.
	const tr = `\CRM Async Service(mscrmasyncservice)\Exchange Sync: Transient Errors for Tasks`
	for i, v := range []float64{1, 2, 3, 4, 5} {
		processSamples(t, e, sample(time.Duration(10+i)*time.Minute, "ASYNC1", tr, v))
	}
	cs := rec.take()
	checkChanges(t, cs,
		want{alerts.ChangeRaised, "sync.transient", key, alerts.SeverityWarning, 1, 11 * time.Minute},
		want{alerts.ChangeRepeated, "sync.transient", key, alerts.SeverityWarning, 2, 12 * time.Minute},
		want{alerts.ChangeRepeated, "sync.transient", key, alerts.SeverityWarning, 3, 13 * time.Minute},
		want{alerts.ChangeRepeated, "sync.transient", key, alerts.SeverityWarning, 4, 14 * time.Minute})
	if s := cs[0].Alert.Summary; s != "s" {
		t.Errorf("summary %q", s)
	}
}
