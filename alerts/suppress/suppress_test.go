package suppress

import (
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
)

type hosts map[string][2][]string

func (h hosts) Roles(host string) []string  { return h[host][0] }
func (h hosts) Groups(host string) []string { return h[host][1] }

var farm = hosts{
	"CRMAPP01":   {{"AppServer"}, {"frontend"}},
	"CRMASYNC01": {{"AsyncService"}, {"backend"}},
}

func alert(rule, sev string, hs ...string) *alerts.Alert {
	return &alerts.Alert{Rule: rule, Severity: alerts.Severity(sev), Hosts: hs, Organizations: []string{"Contoso"}}
}

func TestWeeklyWindowInTimeZone(t *testing.T) {
	w := Window{ID: "w1", Groups: []string{"frontend"}, Weekly: &Weekly{Days: Days{time.Saturday}, At: "22:00", Duration: Duration(4 * time.Hour), TZ: "Europe/Berlin"}}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sat := time.Date(2026, 11, 28, 22, 30, 0, 0, berlin) // a Saturday
	set := &Set{Windows: []Window{w}}
	for _, tc := range []struct {
		at   time.Time
		host string
		want string
	}{
		{sat, "CRMAPP01", "maintenance:w1"},
		{sat.Add(3 * time.Hour), "CRMAPP01", "maintenance:w1"}, // Sunday 01:30, still inside
		{sat.Add(4 * time.Hour), "CRMAPP01", ""},               // 02:30: over
		{sat.Add(-time.Hour), "CRMAPP01", ""},
		{sat, "CRMASYNC01", ""}, // another group
		{sat.AddDate(0, 0, 7), "CRMAPP01", "maintenance:w1"},
	} {
		if got := set.Match(alert("r", "error", tc.host), farm, tc.at.UTC()); got != tc.want {
			t.Errorf("%s on %s: got %q, want %q", tc.at, tc.host, got, tc.want)
		}
	}
}

func TestOneOffWindowAndValidation(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	w := Window{ID: "w2", Roles: []string{"asyncservice"}, Start: t0, End: t0.Add(time.Hour)}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	set := &Set{Windows: []Window{w}}
	if got := set.Match(alert("r", "error", "CRMASYNC01"), farm, t0.Add(time.Minute)); got != "maintenance:w2" {
		t.Fatalf("role match (case-insensitive): %q", got)
	}
	if !w.Over(t0.Add(time.Hour)) || w.Active(t0.Add(time.Hour)) {
		t.Fatal("end is exclusive")
	}
	bad := []Window{
		{Hosts: []string{"X"}},
		{Start: t0, End: t0.Add(time.Hour)},
		{Hosts: []string{"X"}, Start: t0, End: t0},
		{Hosts: []string{"X"}, Weekly: &Weekly{At: "25:00", Duration: Duration(8 * 24 * time.Hour), TZ: "Mars/Olympus"}},
	}
	for _, b := range bad {
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
	err := bad[3].Validate().Error()
	for _, part := range []string{"name the days", "25:00", "at most 7 days", "Mars/Olympus"} {
		if !strings.Contains(err, part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
}

func TestSilenceMatchers(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mk := func(ms ...string) Silence {
		s := Silence{ID: "s1", Start: now.Add(-time.Minute), End: now.Add(time.Hour), Comment: "SQL patching"}
		for _, m := range ms {
			pm, err := ParseMatcher(m)
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			s.Matchers = append(s.Matchers, pm)
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := alert("crm.trace.sql-error", "error", "CRMAPP01", "CRMASYNC01")
	for _, tc := range []struct {
		ms   []string
		want bool
	}{
		{[]string{"host=crmapp01"}, true},
		{[]string{"host!=CRMAPP01"}, false},
		{[]string{"rule=~crm\\.trace\\..*", "severity=error"}, true},
		{[]string{"rule=~crm\\.trace", "severity=error"}, false}, // anchored
		{[]string{"role=AsyncService"}, true},
		{[]string{"group=backend", "organization=Fabrikam"}, false},
		{[]string{"severity!~critical|warning"}, true},
	} {
		s := mk(tc.ms...)
		set := &Set{Silences: []Silence{s}}
		if got := set.Match(a, farm, now) != ""; got != tc.want {
			t.Errorf("%v: got %v", tc.ms, got)
		}
	}
	s := mk("host=CRMAPP01")
	exp := now.Add(-time.Second)
	s.ExpiredAt = &exp
	if s.Active(now) {
		t.Fatal("an expired silence mutes nothing")
	}
	for _, bad := range []string{"", "host", "colour=red", "host=~(", "=x", "host<>x"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if err := (&Silence{Start: now, End: now}).Validate(); err == nil || !strings.Contains(err.Error(), "comment") || !strings.Contains(err.Error(), "matcher") {
		t.Fatalf("want every problem listed, got %v", err)
	}
}

func TestParseDays(t *testing.T) {
	for in, want := range map[string]int{"sat,sun": 2, "mon-fri": 5, "fri-mon": 4, "daily": 7, "Saturday": 1} {
		d, err := ParseDays(in)
		if err != nil || len(d) != want {
			t.Errorf("%s: %v %v", in, d, err)
		}
	}
	if _, err := ParseDays("someday"); err == nil {
		t.Error("accepted someday")
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"host=CRMAPP01", "rule=~crm\\..*", "severity!=info", "organization!~Con.*", "x", "=~", "host=~(a|b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		m.matches([]string{"CRMAPP01", s})
		if _, err := ParseMatcher(m.String()); err != nil {
			t.Fatalf("%q parsed, its rendering %q did not: %v", s, m.String(), err)
		}
	})
}
