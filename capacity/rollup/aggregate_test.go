package rollup

import (
	"math"
	"testing"
	"time"

	"crmwatch/event"
)

func TestAggregatorBucketsEveryResolution(t *testing.T) {
	a := NewAggregator()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var ss []event.Sample
	for i := range 120 { // two minutes of readings every second: 1..120
		ss = append(ss, event.Sample{Time: t0.Add(time.Duration(i) * time.Second), Host: "CRMWEB01", Role: "AppServer",
			Counter: `\Processor(_Total)\% Processor Time`, Value: float64(i + 1)})
	}
	a.AddSamples(ss)
	series, _ := a.Take()
	got := map[Resolution][]SeriesRow{}
	for _, r := range series {
		got[r.Res] = append(got[r.Res], r)
	}
	if len(got[Minute]) != 2 || len(got[Hour]) != 1 || len(got[Day]) != 1 {
		t.Fatalf("buckets: %d minutes, %d hours, %d days; want 2, 1, 1", len(got[Minute]), len(got[Hour]), len(got[Day]))
	}
	h := got[Hour][0]
	if h.Count != 120 || h.Min != 1 || h.Max != 120 || h.Avg() != 60.5 || h.Role != "AppServer" || h.Bucket != t0.Unix() {
		t.Fatalf("hour: %+v avg %g", h.SeriesKey, h.Avg())
	}
	if p := h.P95(); math.Abs(p-114) > 114*Accuracy {
		t.Fatalf("hour p95 %g, want 114 within 1 %%", p)
	}
	if a.Pending() != 0 {
		t.Fatalf("Take left %d buckets", a.Pending())
	}
}

func TestAggregatorOrganizationLoad(t *testing.T) {
	a := NewAggregator()
	t0 := time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)
	ev := func(min int, org, req, user string, lvl event.Level) event.Event {
		return event.Event{Time: t0.Add(time.Duration(min) * time.Minute), Host: "CRMWEB01", Source: event.SourceTrace,
			Organization: org, RequestID: req, Level: lvl, Fields: map[string]string{"user": user}}
	}
	a.AddEvents([]event.Event{
		ev(0, "Contoso", "r1", "CONTOSO\\ann", event.LevelVerbose),
		ev(0, "Contoso", "r1", "CONTOSO\\ann", event.LevelError), // same request, second record
		ev(1, "Contoso", "r2", "contoso\\ANN", event.LevelInfo),  // same user, other spelling
		ev(2, "Contoso", "r3", "CONTOSO\\bob", event.LevelVerbose),
		ev(3, "Fabrikam", "r9", "FAB\\eve", event.LevelVerbose),
		{Time: t0, Host: "CRMWEB01", Source: event.SourceTrace, RequestID: "rx"}, // no organization
	})
	_, orgs := a.Take()
	// The same request traced after a flush still counts once.
	a.AddEvents([]event.Event{ev(4, "Contoso", "r3", "CONTOSO\\bob", event.LevelVerbose), ev(5, "Contoso", "r4", "", event.LevelVerbose)})
	_, more := a.Take()
	by := map[string]OrgRow{}
	for _, r := range append(orgs, more...) {
		o := by[r.Organization]
		o.Requests += r.Requests
		o.Errors += r.Errors
		o.Users.Merge(r.Users)
		by[r.Organization] = o
	}
	c := by["contoso"]
	if c.Requests != 4 || c.Errors != 1 || c.Users.Len() != 2 {
		t.Fatalf("contoso: %d requests, %d errors, %d users; want 4, 1, 2", c.Requests, c.Errors, c.Users.Len())
	}
	if f := by["fabrikam"]; f.Requests != 1 || f.Users.Len() != 1 || len(by) != 2 {
		t.Fatalf("organizations: %+v", by)
	}
}

func TestUserSetBoundedEstimate(t *testing.T) {
	var u UserSet
	for i := range 50_000 {
		u.Add(hash32(time.Duration(i).String()))
	}
	if len(u) != MaxUsers {
		t.Fatalf("set holds %d, want the bound %d", len(u), MaxUsers)
	}
	if n := u.Len(); math.Abs(float64(n)-50_000) > 0.05*50_000 {
		t.Fatalf("estimated %d distinct users, want 50,000 within 5 %%", n)
	}
}
