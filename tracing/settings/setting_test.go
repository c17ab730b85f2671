package settings

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestBuildDefaults(t *testing.T) {
	s, warn, err := Request{Target: Target{Scope: ScopeRole, Name: "AppServer"}}.Build("id1", "alice", t0)
	if err != nil || len(warn) != 0 {
		t.Fatal(err, warn)
	}
	if !s.Enabled || s.Categories != DefaultCategories || s.CallStack || s.FileSizeMB != DefaultFileSizeMB ||
		s.Expires == nil || !s.Expires.Equal(t0.Add(time.Hour)) || s.SetBy != "alice" || s.ID != "id1" {
		t.Errorf("defaults: %+v", s)
	}
	if s.Describe() != "on *:Verbose, 5 MB" {
		t.Errorf("describe: %s", s.Describe())
	}
}

func TestBuildRefusesEveryProblemAtOnce(t *testing.T) {
	_, _, err := Request{Target: Target{Scope: "rack"}, Categories: "*:Loud", FileSizeMB: 101, For: Duration(25 * time.Hour),
		Reason: "a\nb"}.Build("x", "bob", t0)
	for _, want := range []string{`target scope "rack"`, `level "Loud"`, "file size 101 MB: TraceFileSizeLimit takes 1 to 100",
		"duration 25h0m0s: want 1s to 24h0m0s", "needs --no-expiry (admin)", "reason: one line"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	_, _, err = Request{Target: Farm, NoExpiry: true, For: Duration(time.Hour)}.Build("x", "bob", t0)
	if err == nil || !strings.Contains(err.Error(), "either a duration (--for) or --no-expiry") {
		t.Errorf("for and no-expiry: %v", err)
	}
	_, _, err = Request{Target: Farm, Off: true, Categories: "*:Error"}.Build("x", "bob", t0)
	if err == nil || !strings.Contains(err.Error(), "--off turns tracing off") {
		t.Errorf("off with categories: %v", err)
	}
}

func TestBuildNoExpiryAndOff(t *testing.T) {
	s, _, err := Request{Target: Farm, Off: true, NoExpiry: true}.Build("x", "root", t0)
	if err != nil || s.Enabled || s.Expires != nil || s.Describe() != "off" {
		t.Fatalf("%+v %v", s, err)
	}
	if s.Expired(t0.Add(1000 * time.Hour)) {
		t.Error("a setting without expiry expired")
	}
}

func TestValuesOverFound(t *testing.T) {
	found := Values{Enabled: Ptr(false), Categories: Ptr("*:Error"), Refresh: Ptr(41)}
	on := Setting{Enabled: true, Categories: "Platform.Sql:Verbose", CallStack: true, FileSizeMB: 10}
	v := on.Values(found)
	if v.String() != "TraceEnabled=1 TraceCategories=Platform.Sql:Verbose TraceCallStack=1 TraceFileSizeLimit=10 TraceRefresh=41" {
		t.Errorf("on: %s", v)
	}
	off := Setting{Enabled: false}.Values(Values{Enabled: Ptr(true), Categories: Ptr("*:Verbose")})
	if off.String() != "TraceEnabled=0 TraceCategories=*:Verbose" {
		t.Errorf("off keeps the rest as found: %s", off)
	}
	if (Values{}).NextRefresh() != 1 || (Values{Refresh: Ptr(99)}).NextRefresh() != 0 || (Values{Refresh: Ptr(41)}).NextRefresh() != 42 {
		t.Error("NextRefresh is old+1 mod 100")
	}
}

func TestResolvePrecedence(t *testing.T) {
	exp := t0.Add(time.Hour)
	mk := func(id string, sc Scope, name string, at time.Duration) Setting {
		return Setting{ID: id, Target: Target{Scope: sc, Name: name}, SetAt: t0.Add(at), Expires: &exp}
	}
	all := []Setting{
		mk("farm", ScopeFarm, "", 0),
		mk("role-app", ScopeRole, "AppServer", time.Second),
		mk("role-sdk", ScopeRole, "SdkServer", 2*time.Second),
		mk("group", ScopeGroup, "tenant-a", 0),
		mk("host", ScopeHost, "CRMAPP01", 0),
	}
	m := Member{Host: "crmapp01", Roles: []string{"AppServer", "SdkServer"}, Groups: []string{"tenant-a"}}
	for _, c := range []struct {
		drop []string
		want string
	}{
		{nil, "host"},
		{[]string{"host"}, "group"},
		{[]string{"host", "group"}, "role-sdk"}, // two roles: the one set last
		{[]string{"host", "group", "role-sdk"}, "role-app"},
		{[]string{"host", "group", "role-sdk", "role-app"}, "farm"},
	} {
		var list []Setting
		for _, s := range all {
			if !containsFold(c.drop, s.ID) {
				list = append(list, s)
			}
		}
		got := Resolve(list, m, t0.Add(time.Minute))
		if got == nil || got.ID != c.want {
			t.Errorf("without %v: got %v, want %s", c.drop, got, c.want)
		}
	}
	if got := Resolve(all, Member{Host: "CRMASYNC01", Roles: []string{"AsyncService"}}, t0); got == nil || got.ID != "farm" {
		t.Errorf("other host: %v", got)
	}
	if got := Resolve(all, m, exp); got != nil {
		t.Errorf("expired settings apply no more: %v", got)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"all": Farm, "Farm": Farm, "role:AppServer": {ScopeRole, "AppServer"}, "group=tenant-a": {ScopeGroup, "tenant-a"},
		"host CRMAPP01": {ScopeHost, "CRMAPP01"},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "CRMAPP01", "rack:1", "host:", "farm:x"} {
		if _, err := ParseTarget(in); err == nil || !strings.Contains(err.Error(), "want all, role:NAME") && !strings.Contains(err.Error(), "takes no name") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestResult(t *testing.T) {
	set := &Setting{ID: "s1"}
	d := Desired{Host: "h", Setting: set}
	for _, c := range []struct {
		a      *Applied
		online bool
		want   string
	}{
		{nil, true, ResultPending},
		{&Applied{SettingID: "old", State: StateApplied}, true, ResultPending},
		{&Applied{SettingID: "s1", State: StateApplied}, true, ResultApplied},
		{&Applied{SettingID: "s1", State: StateApplied}, false, ResultOffline},
		{&Applied{SettingID: "s1", State: StateGuard, Reason: "quota"}, true, ResultFailed},
		{&Applied{SettingID: "s1", State: StateFailed, Reason: "access denied"}, true, ResultFailed},
		{&Applied{SettingID: "s1", State: StateExpired}, true, ResultExpired},
	} {
		if got, _ := Result(d, c.a, c.online); got != c.want {
			t.Errorf("%+v online=%v: %s, want %s", c.a, c.online, got, c.want)
		}
	}
	if r, _ := Result(Desired{Host: "h"}, &Applied{State: StateRestored}, true); r != ResultRestored || !Success(r) {
		t.Errorf("restored: %s", r)
	}
	if _, why := Result(d, &Applied{SettingID: "s1", State: StateGuard, Reason: "trace folder over quota"}, true); why != "disk guard: trace folder over quota" {
		t.Errorf("guard reason: %s", why)
	}
}
