package crm

import (
	"slices"
	"strings"
	"testing"

	"crmwatch/event"
	"crmwatch/packs"
)

// TestEveryWatchedCounterIsCollected: for every role a counter rule of the
// built-in pack applies to, the plan the server publishes for that role
// asks agents to read the rule's counter — otherwise the rule could never
// fire.
func TestEveryWatchedCounterIsCollected(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	plans := packs.Plans([]*packs.Pack{p})
	rs, err := packs.FarmRules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rs {
		var counter string
		switch {
		case r.Threshold != nil:
			counter = r.Threshold.Counter
		case r.Trend != nil:
			counter = r.Trend.Counter
		case r.Missing != nil && r.Missing.Counter != "":
			counter = r.Missing.Counter
		default:
			continue
		}
		for _, name := range r.Roles {
			role, err := event.ParseRole(name)
			if err != nil {
				t.Fatal(err)
			}
			var collected []string
			for _, cs := range plans[role].Counters {
				collected = append(collected, cs.Paths...)
			}
			if !slices.ContainsFunc(collected, func(c string) bool { return strings.EqualFold(c, counter) }) {
				t.Errorf("rule %s watches %s on %s, which the %s plan does not collect", r.ID, counter, role, role)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d rule/role pairs checked; the pack has more counter rules", checked)
	}
	if got := plans[event.RoleAsyncService].Packs; !slices.Equal(got, []string{"crm " + p.Version.String()}) {
		t.Errorf("plan packs = %q", got)
	}
}
