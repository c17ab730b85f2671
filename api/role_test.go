package api

import (
	"context"
	"encoding/json"
	"testing"

	"crmwatch/access"
	"crmwatch/alerts"
)

// role= keeps alerts on the hosts whose agents announce the role; a role
// no host has matches nothing.
func TestAlertsByRole(t *testing.T) {
	agents := AgentListerFunc(func(context.Context) ([]AgentInfo, error) {
		return []AgentInfo{{Host: "CRMAPP01", Roles: []string{"WebApplicationServer"}},
			{Host: "CRMASYNC01", Roles: []string{"AsynchronousProcessingService", "SandboxProcessingService"}}}, nil
	})
	f := newFixture(t, agents)
	f.seed("a1", nil) // on CRMAPP01
	f.seed("a2", func(a *alerts.Alert) { a.Hosts = []string{"CRMASYNC01"}; a.Rule = "crm.async.other" })
	f.seed("a3", func(a *alerts.Alert) { a.Hosts = []string{"CRMSQL01"}; a.Rule = "crm.sql" })
	for role, want := range map[string][]string{
		"asynchronousprocessingservice": {"a2"},
		"WebApplicationServer":          {"a1"},
		"DeploymentService":             {},
	} {
		w := f.do("GET", "/api/v1/alerts?role="+role, access.RoleReadonly)
		var got AlertsResponse
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil {
			t.Fatalf("role %s: %d %s", role, w.Code, w.Body)
		}
		ids := []string{}
		for _, a := range got.Alerts {
			ids = append(ids, a.ID)
		}
		if len(ids) != len(want) || (len(want) == 1 && ids[0] != want[0]) || got.Total != len(want) {
			t.Errorf("role %s: %v (total %d), want %v", role, ids, got.Total, want)
		}
	}
	noAgents := newFixture(t, nil)
	if w := noAgents.do("GET", "/api/v1/alerts?role=x", access.RoleReadonly); w.Code != 503 {
		t.Errorf("role without an agent registry: %d, want 503", w.Code)
	}
}
