package collectors

import (
	"reflect"
	"testing"
	"time"

	"crmwatch/event"
)

func TestMergePlans(t *testing.T) {
	app := Plan{
		Roles: []event.Role{event.RoleAppServer}, Packs: []string{"crm 1.0.0"},
		Traces:    []TraceSource{{Directory: `C:\Program Files\Microsoft Dynamics CRM\Trace`, Pattern: "*.log"}},
		EventLog:  []EventLogSpec{{Channel: "Application", Sources: []string{"MSCRMPlatform", "MSCRMWebService"}, MinLevel: "warning"}},
		Counters:  []CounterSet{{Paths: []string{`\Memory\Available MBytes`, `\CRM Server(*)\Failed Organization Service Requests`}}},
		SNMPTraps: []TrapMapping{{OID: "1.3.6.1.6.3.1.1.5.3", Name: "linkDown", Level: "error"}},
	}
	async := Plan{
		Roles: []event.Role{event.RoleAsyncService}, Packs: []string{"crm 1.0.0", "extra 0.1.0"},
		Traces:   []TraceSource{{Directory: `C:\Program Files\Microsoft Dynamics CRM\Trace`, Pattern: "*.log"}},
		EventLog: []EventLogSpec{{Channel: "Application", Sources: []string{"MSCRMPlatform", "MSCRMAsyncService"}, MinLevel: "info"}},
		Counters: []CounterSet{
			{Paths: []string{`\Memory\Available MBytes`}, Interval: time.Minute},
			{Paths: []string{`\LogicalDisk(C:)\% Free Space`}, Interval: time.Minute},
		},
		SNMPTraps: []TrapMapping{{OID: "1.3.6.1.6.3.1.1.5.3", Name: "other", Level: "warning"}},
	}
	got := MergePlans(app, async)
	want := Plan{
		Roles: []event.Role{event.RoleAppServer, event.RoleAsyncService}, Packs: []string{"crm 1.0.0", "extra 0.1.0"},
		Traces:   []TraceSource{{Directory: `C:\Program Files\Microsoft Dynamics CRM\Trace`, Pattern: "*.log"}},
		EventLog: []EventLogSpec{{Channel: "Application", Sources: []string{"MSCRMAsyncService", "MSCRMPlatform", "MSCRMWebService"}, MinLevel: "info"}},
		Counters: []CounterSet{
			// Available MBytes is asked for at the default interval (0) and at
			// 1m: both stay, the collector reads it at the shorter.
			{Paths: []string{`\CRM Server(*)\Failed Organization Service Requests`, `\Memory\Available MBytes`}},
			{Paths: []string{`\LogicalDisk(C:)\% Free Space`, `\Memory\Available MBytes`}, Interval: time.Minute},
		},
		SNMPTraps: []TrapMapping{{OID: "1.3.6.1.6.3.1.1.5.3", Name: "linkDown", Level: "error"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergePlans:\n got  %+v\n want %+v", got, want)
	}
	if !reflect.DeepEqual(MergePlans(async, app).Counters, got.Counters) {
		t.Error("the union must not depend on the order of the roles")
	}
	if !(Plan{}).IsZero() || got.IsZero() {
		t.Error("IsZero")
	}
}
