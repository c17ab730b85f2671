package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"crmwatch/collectors"
	"crmwatch/collectors/perfcounters"
	"crmwatch/collectors/tracefiles"
)

func TestParseSet(t *testing.T) {
	for in, want := range map[string]Override{
		"collectors.perfcounters.interval=15s":    {Key: "collectors.perfcounters.interval", Value: "15s"},
		"collectors.perfcounters.max_instances=5": {Key: "collectors.perfcounters.max_instances", Value: 5},
		"collectors.tracefiles.dirs=[/a, /b]":     {Key: "collectors.tracefiles.dirs", Value: []any{"/a", "/b"}},
		"collectors.tracefiles.otlp.gzip=false":   {Key: "collectors.tracefiles.otlp.gzip", Value: false},
		`collectors.tracefiles.dirs=C:\Trace`:     {Key: "collectors.tracefiles.dirs", Value: `C:\Trace`},
		"collectors.tracefiles.min_level=":        {Key: "collectors.tracefiles.min_level", Value: ""},
		"collectors.x.y={a: [unclosed":            {Key: "collectors.x.y", Value: "{a: [unclosed"},
	} {
		got, err := ParseSet(1, in)
		want.Flag = "--set #1"
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSet(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, bad := range []string{"s3cret", "=s3cret", "perfcounters.interval=s3cret", "collectors.perfcounters=s3cret", "collectors..x=s3cret"} {
		_, err := ParseSet(3, bad)
		if err == nil || !strings.HasPrefix(err.Error(), "--set #3") {
			t.Errorf("ParseSet(%q): err = %v, want one naming --set #3", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseSet(%q): the value leaked into %q", bad, err)
		}
	}
}

func TestApplyOverrides(t *testing.T) {
	f, err := ParseFile([]byte("collectors:\n  tracefiles:\n    dirs: [/old]\n    otlp: {endpoint: 'http://a:4318'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	set := func(n int, s string) Override {
		o, err := ParseSet(n, s)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	err = f.Apply([]Override{
		set(1, "collectors.tracefiles.otlp.gzip=false"),
		set(2, "collectors.perfcounters.interval=1m"),
		set(3, "collectors.perfcounters.interval=30s"), // a later one wins
		set(4, "collectors.tracefiles.dirs.x=1"),       // dirs is a list
	})
	if err == nil || !strings.Contains(err.Error(), "--set #4 collectors.tracefiles.dirs.x: collectors.tracefiles.dirs is a value, not a section") {
		t.Fatalf("err = %v", err)
	}
	otlp := f.Collectors["tracefiles"]["otlp"].(map[string]any)
	if otlp["endpoint"] != "http://a:4318" || otlp["gzip"] != false || f.Collectors["perfcounters"]["interval"] != "30s" {
		t.Errorf("file after overrides: %+v", f.Collectors)
	}
}

// TestSetReachesEveryCollector: one generic path configures any
// collector; the collector validates the result and every problem comes
// back at once.
func TestSetReachesEveryCollector(t *testing.T) {
	facs := []collectors.Factory{tracefiles.NewFactory(), perfcounters.NewFactory()}
	var ovs []Override
	for i, s := range []string{"collectors.perfcounters.interval=30s", "collectors.perfcounters.counters=[{paths: ['\\Memory\\Available MBytes']}]"} {
		o, err := ParseSet(i+1, s)
		if err != nil {
			t.Fatal(err)
		}
		ovs = append(ovs, o)
	}
	a, err := New(Options{Name: "h", StateDir: t.TempDir(), Set: ovs, Factories: facs})
	if err != nil {
		t.Fatal(err)
	}
	pc := a.configs[perfcounters.Type].(*perfcounters.Config)
	if pc.Interval != 30*time.Second || len(pc.Counters) != 1 || pc.Counters[0].Paths[0] != `\Memory\Available MBytes` {
		t.Errorf("perfcounters config = %+v", pc)
	}
	ovs = nil
	for i, s := range []string{"collectors.perfcounters.interval=100ms", "collectors.perfcounters.source=wmi",
		"collectors.perfcounters.intervall=1s", "collectors.tracefiles.min_level=loud", "collectors.tracefiles.dirs=[/t]"} {
		o, _ := ParseSet(i+1, s)
		ovs = append(ovs, o)
	}
	_, err = New(Options{Name: "h", StateDir: t.TempDir(), Set: ovs, Factories: facs})
	if err == nil {
		t.Fatal("invalid overrides accepted")
	}
	for _, want := range []string{"collectors.perfcounters:", "intervall", "collectors.tracefiles:", `min_level "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// A decode problem (the unknown key) hides that collector's Validate
	// problems; fixing it shows them, all at once.
	_, err = New(Options{Name: "h", StateDir: t.TempDir(), Set: append(ovs[:2:2], ovs[3:]...), Factories: facs})
	for _, want := range []string{"interval 100ms", `source "wmi"`, `min_level "loud"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// FuzzParseSet: any --set value parses or fails without panicking; a
// parsed override applies to an empty file or fails with a message; an
// error never repeats the value.
func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"collectors.a.b=1", "collectors.a.b.c=[x]", "x=y", "collectors.a.b={", "=", "collectors.a.b=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseSet(1, s)
		if err != nil {
			if _, val, ok := strings.Cut(s, "="); ok && len(val) > 3 && strings.Contains(err.Error(), val) {
				t.Errorf("error %q repeats the value", err)
			}
			return
		}
		var file File
		_ = file.Apply([]Override{o})
		reg, _ := collectors.NewRegistry(dirsFactory{"a"})
		_, _ = file.Configs(reg, collectors.Plan{})
	})
}
