package packs_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/packs"
)

// TestSchemaRolesAreEventRoles: the pack format's role names are the one
// role list (event.Role), so a role a pack may name is one an agent can
// have.
func TestSchemaRolesAreEventRoles(t *testing.T) {
	data, err := os.ReadFile("schema/pack.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			Role struct {
				Enum []string `json:"enum"`
			} `json:"role"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Defs.Role.Enum, event.RoleNames()) {
		t.Errorf("schema roles %v, event roles %v", s.Defs.Role.Enum, event.RoleNames())
	}
}

func TestPlans(t *testing.T) {
	fsys := fstest.MapFS{"pack.yaml": {Data: []byte(`format: crmwatch.pack/v1
name: two
version: 0.3.0
description: two roles
roles: [AppServer, AsyncService]
parameters:
  drive: {default: "D:", description: trace drive}
collect:
  - roles: [AppServer, AsyncService]
    traces: [{directory: 'C:\Trace'}]
    counters: [{paths: ['\LogicalDisk(${drive})\% Free Space'], interval: 1m}]
  - roles: [AsyncService]
    eventlog: [{channel: Application, sources: [MSCRMAsyncService]}]
    counters: [{paths: ['\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding']}]
`)}}
	p, err := packs.Load(fsys, "two")
	if err != nil {
		t.Fatal(err)
	}
	plans := packs.Plans([]*packs.Pack{p})
	if len(plans) != len(event.AllRoles()) {
		t.Fatalf("%d plans, want one per role", len(plans))
	}
	async := plans[event.RoleAsyncService]
	want := collectors.Plan{
		Roles: []event.Role{event.RoleAsyncService}, Packs: []string{"two 0.3.0"},
		Traces:   []collectors.TraceSource{{Directory: `C:\Trace`}},
		EventLog: []collectors.EventLogSpec{{Channel: "Application", Sources: []string{"MSCRMAsyncService"}}},
		Counters: []collectors.CounterSet{
			{Paths: []string{`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`}},
			{Paths: []string{`\LogicalDisk(D:)\% Free Space`}, Interval: time.Minute}, // parameter default substituted
		},
	}
	if !slices.EqualFunc([]collectors.Plan{async}, []collectors.Plan{want}, planEqual) {
		t.Errorf("AsyncService plan:\n got  %+v\n want %+v", async, want)
	}
	if app := plans[event.RoleAppServer]; len(app.Counters) != 1 || len(app.EventLog) != 0 {
		t.Errorf("AppServer plan %+v", app)
	}
	if sql := plans[event.RoleSqlServer]; !sql.IsZero() {
		t.Errorf("SqlServer plan %+v, want empty (no pack asks)", sql)
	}
}

func planEqual(a, b collectors.Plan) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
