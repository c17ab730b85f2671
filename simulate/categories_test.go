package simulate

import (
	"strings"
	"testing"
)

func TestCategoryFilter(t *testing.T) {
	cases := []struct {
		categories string
		cat        string
		lvl        level
		want       bool
	}{
		{"*:Verbose", "Platform.Sql", levelVerbose, true},
		{"*:Error", "Platform.Sql", levelWarning, false},
		{"*:Error", "Platform.Sql", levelError, true},
		{"*:Warning", "Sandbox", levelWarning, true},
		{"*:Warning", "Sandbox", levelInfo, false},
		{"Platform.*:Warning", "Platform.Async", levelWarning, true},
		{"Platform.*:Warning", "Platform", levelWarning, true},
		{"Platform.*:Warning", "Sandbox", levelError, false},
		{"Platform.Sql:Error", "Platform.Sql", levelError, true},
		{"Platform.Sql:Error", "Platform.Async", levelError, false},
		// The most specific entry wins, whatever the order.
		{"Platform.Sql:Verbose;Platform.*:Error", "Platform.Sql", levelVerbose, true},
		{"Platform.*:Error;Platform.Sql:Verbose", "Platform.Async", levelWarning, false},
		{"*:Verbose;Sandbox:Off", "Sandbox", levelError, false},
		{"*:Verbose;Sandbox:Off", "Sandbox.EnterExit", levelVerbose, true},
		{" application.outlook : error ", "Application.Outlook", levelError, true},
		{"*:Off", "Platform", levelError, false},
	}
	for _, tc := range cases {
		f, err := parseCategories(tc.categories)
		if err != nil {
			t.Fatalf("%q: %v", tc.categories, err)
		}
		if got := f.allows(tc.cat, tc.lvl); got != tc.want {
			t.Errorf("%q allows %s %s = %v, want %v", tc.categories, tc.lvl, tc.cat, got, tc.want)
		}
	}
}

func TestParseCategoriesErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "has no Category:Level entry"},
		{";;", "has no Category:Level entry"},
		{"Platform", "want Category:Level"},
		{":Error", "want Category:Level"},
		{"*:Loud", `level "Loud"`},
		{"Plat*form:Error", "wildcard may only end"},
		{"*:Verbose;Sql", `entry "Sql"`},
	}
	for _, tc := range cases {
		_, err := parseCategories(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseCategories(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseCategories: any TraceCategories text parses or fails cleanly, and
// a filter that parsed never panics when asked.
func FuzzParseCategories(f *testing.F) {
	for _, s := range []string{"*:Verbose", "*:Error", "Application.*:Error", "Platform.*:Warning",
		"Platform.Sql:Error", "Platform.Sql:Verbose;Platform.Async:Error", "x", ":", ";", "*:", "**:Off"} {
		f.Add(s, "Platform.Sql")
	}
	f.Fuzz(func(t *testing.T, s, cat string) {
		flt, err := parseCategories(s)
		if err != nil {
			return
		}
		if len(flt.rules) == 0 {
			t.Fatalf("%q parsed without rules", s)
		}
		for l := levelOff; l <= levelVerbose; l++ {
			flt.allows(cat, l)
		}
		if flt.allows(cat, levelOff) {
			t.Fatalf("%q lets an Off record through", s)
		}
	})
}
