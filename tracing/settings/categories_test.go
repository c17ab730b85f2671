package settings

import (
	"strings"
	"testing"
)

func TestParseCategoriesCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"*:Verbose", "*:Verbose"},
		{"*:error", "*:Error"},
		{" platform.sql : verbose ; Platform.*:WARNING ", "Platform.Sql:Verbose;Platform.*:Warning"},
		{"application.*:Error", "Application.*:Error"},
		{"Platform.Sql:Verbose;Platform.Async:Error;", "Platform.Sql:Verbose;Platform.Async:Error"},
		{"Application.Outlook:Error", "Application.Outlook:Error"},
		{"Unmanaged.*:Info;*:Off", "Unmanaged.*:Info;*:Off"},
	} {
		got, err := ParseCategories(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.Value != c.want || len(got.Warnings) != 0 {
			t.Errorf("%q: got %q (warnings %v), want %q", c.in, got.Value, got.Warnings, c.want)
		}
	}
}

func TestParseCategoriesUnknownNameWarns(t *testing.T) {
	got, err := ParseCategories("Platform.Plugin:Verbose;Xrm.*:Error")
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "Platform.Plugin:Verbose;Xrm.*:Error" || len(got.Warnings) != 2 {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got.Warnings[0], "Platform.Plugin is not in the CRM 2011/2013 category list") {
		t.Errorf("warning: %s", got.Warnings[0])
	}
}

func TestParseCategoriesRefusedNamesThePartAndWhatIsAllowed(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"*:Verbos", `level "Verbos" is not one of Off, Error, Warning, Info, Verbose`},
		{"Platform.Sql", `no ':' — want Category:Level`},
		{"Platform..Sql:Error", `category "Platform..Sql": want *, Category, Category.Sub or Category.*`},
		{"Plat*form:Error", `category "Plat*form"`},
		{":Error", "the category is empty"},
		{"Platform:Error;platform:Verbose", "category Platform is already set by entry 1"},
		{"", "categories are empty"},
		{" ; ", "categories are empty"},
		{strings.Repeat("A", MaxCategoriesLen+1), "more than the 2048 allowed"},
	} {
		_, err := ParseCategories(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.in, err, c.want)
		}
	}
	// Every bad entry at once, numbered.
	_, err := ParseCategories("*:Loud;Platform:Error;9x:Info")
	if err == nil || !strings.Contains(err.Error(), "entry 1 ") || !strings.Contains(err.Error(), "entry 3 ") || strings.Contains(err.Error(), "entry 2 ") {
		t.Errorf("several bad entries: %v", err)
	}
}

// FuzzParseCategories: never panics; what it accepts is canonical (parsing
// the canonical form again gives the same text).
func FuzzParseCategories(f *testing.F) {
	for _, s := range []string{"*:Verbose", "Platform.Sql:Error;Platform.*:Warning", "a:b", ";;", "Platform..*:Info", "x.*:off", "É:Error"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCategories(s)
		if err != nil {
			return
		}
		again, err := ParseCategories(c.Value)
		if err != nil || again.Value != c.Value {
			t.Fatalf("canonical %q of %q does not parse to itself: %q, %v", c.Value, s, again.Value, err)
		}
		if strings.ContainsAny(c.Value, " \t\r\n") {
			t.Fatalf("canonical %q has white space", c.Value)
		}
	})
}
