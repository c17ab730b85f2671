package notify

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
)

type hosts map[string][]string

func (h hosts) Roles(host string) []string  { return h[host] }
func (h hosts) Groups(host string) []string { return []string{"farm-" + host} }

func matchers(t *testing.T, ss ...string) []suppress.Matcher {
	t.Helper()
	var out []suppress.Matcher
	for _, s := range ss {
		m, err := suppress.ParseMatcher(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestRouter(t *testing.T) {
	rt, err := NewRouter([]Route{
		{Matchers: matchers(t, "severity=critical"), Receivers: []string{"pager"}, Continue: true, RepeatInterval: time.Hour},
		{Matchers: matchers(t, "role=SqlServer"), Receivers: []string{"dba"}},
		{Matchers: matchers(t, "organization=Contoso", "rule=~crm\\..*"), Receivers: []string{"contoso", "noc"}},
		{Matchers: matchers(t, "group=farm-CRMAPP09"), Receivers: []string{"noc"}},
		{Receivers: []string{"noc"}},
	}, []string{"pager", "dba", "contoso", "noc"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	hi := hosts{"CRMSQL01": {"SqlServer"}, "CRMAPP01": {"AppServer"}}
	for _, tc := range []struct {
		a    alerts.Alert
		want []string
	}{
		{alerts.Alert{Rule: "crm.x", Severity: alerts.SeverityCritical, Hosts: []string{"CRMSQL01"}}, []string{"dba", "pager"}},
		{alerts.Alert{Rule: "crm.x", Severity: alerts.SeverityError, Hosts: []string{"CRMAPP01"}, Organizations: []string{"Contoso"}}, []string{"contoso", "noc"}},
		{alerts.Alert{Rule: "crm.x", Severity: alerts.SeverityError, Hosts: []string{"CRMAPP01"}}, []string{"noc"}},
		{alerts.Alert{Rule: "other", Severity: alerts.SeverityWarning, Hosts: []string{"CRMAPP09"}, Organizations: []string{"Contoso"}}, []string{"noc"}},
	} {
		got := rt.Match(&tc.a, hi)
		if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tc.want) {
			t.Errorf("%+v: receivers %v, want %v", tc.a, names, tc.want)
		}
		if d, ok := got["pager"]; ok && d != time.Hour {
			t.Errorf("pager repeat %s", d)
		}
		if d, ok := got["noc"]; ok && d != DefaultRepeatInterval {
			t.Errorf("noc repeat %s", d)
		}
	}
	// No routes: everyone gets everything.
	all, _ := NewRouter(nil, []string{"a", "b"}, time.Minute)
	if got := all.Match(&alerts.Alert{}, nil); len(got) != 2 || got["a"] != time.Minute {
		t.Fatalf("no routes: %v", got)
	}
}

func TestRouterRefusesUnknownReceivers(t *testing.T) {
	_, err := NewRouter([]Route{{Receivers: []string{"nope"}}, {}}, []string{"noc"}, 0)
	if err == nil || !strings.Contains(err.Error(), `receiver "nope" is not configured`) || !strings.Contains(err.Error(), "routes[1]: no receivers") {
		t.Fatalf("got %v", err)
	}
}
