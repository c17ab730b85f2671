package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crmwatch/collectors"
	"crmwatch/event"
)

// dirsFactory is a minimal collector type for config tests; the real
// tracefiles collector lives in collectors/tracefiles.
type dirsFactory struct{ typ string }

type dirsConfig struct {
	Dirs     []string `yaml:"dirs"`
	Interval string   `yaml:"interval"`
}

func (c *dirsConfig) Validate() error {
	var errs []error
	if len(c.Dirs) == 0 {
		errs = append(errs, errors.New("dirs: at least one directory is required"))
	}
	if c.Interval == "" {
		errs = append(errs, errors.New("interval: must not be empty"))
	}
	return errors.Join(errs...)
}

func (f dirsFactory) Type() string                     { return f.typ }
func (f dirsFactory) DefaultConfig() collectors.Config { return &dirsConfig{Interval: "1s"} }
func (f dirsFactory) New(cfg collectors.Config, _ collectors.Settings) (collectors.Collector, error) {
	return idle{}, nil
}

type idle struct{}

func (idle) Run(ctx context.Context, _ collectors.Sink) error { <-ctx.Done(); return nil }

func testRegistry(t *testing.T) *collectors.Registry {
	reg, err := collectors.NewRegistry(dirsFactory{"tracefiles"}, dirsFactory{"eventlog"})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestConfigs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		yaml      string
		traceDirs []string
		want      map[string]*dirsConfig
		wantErrs  []string
	}{
		{name: "empty file", yaml: "", want: map[string]*dirsConfig{}},
		{
			name: "defaults kept",
			yaml: "collectors:\n  tracefiles:\n    dirs: [/trace]\n",
			want: map[string]*dirsConfig{"tracefiles": {Dirs: []string{"/trace"}, Interval: "1s"}},
		},
		{
			name:      "--trace-dir overrides the file",
			yaml:      "collectors:\n  tracefiles:\n    dirs: [/old]\n    interval: 5s\n",
			traceDirs: []string{"/a", "/b"},
			want:      map[string]*dirsConfig{"tracefiles": {Dirs: []string{"/a", "/b"}, Interval: "5s"}},
		},
		{
			name:      "--trace-dir without a file",
			traceDirs: []string{"/a"},
			want:      map[string]*dirsConfig{"tracefiles": {Dirs: []string{"/a"}, Interval: "1s"}},
		},
		{
			name: "every problem reported at once",
			yaml: "collectors:\n  snmptraps: {}\n  tracefiles:\n    interval: ''\n  eventlog:\n    dirz: [x]\n",
			wantErrs: []string{
				"collectors.snmptraps: unknown collector type",
				"collectors.tracefiles: dirs: at least one directory is required",
				"interval: must not be empty",
				"collectors.eventlog:", "dirz",
			},
		},
		{name: "unknown top-level key", yaml: "collector:\n  tracefiles: {}\n", wantErrs: []string{"field collector not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile([]byte(tc.yaml))
			if err == nil {
				ovs, _ := Shortcuts{TraceDirs: tc.traceDirs}.Overrides()
				if err = f.Apply(ovs); err != nil {
					t.Fatal(err)
				}
				var cfgs map[string]collectors.Config
				cfgs, err = f.Configs(testRegistry(t), collectors.Plan{})
				if err == nil {
					got := map[string]*dirsConfig{}
					for k, v := range cfgs {
						got[k] = v.(*dirsConfig)
					}
					if !reflect.DeepEqual(got, tc.want) {
						t.Errorf("configs = %+v, want %+v", got, tc.want)
					}
				}
			}
			if len(tc.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErrs)
			}
			for _, w := range tc.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseRoleSpec(t *testing.T) {
	got, err := parseRoleSpec("appserver, AsyncService", "AppServer,sqlserver")
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Role{event.RoleAppServer, event.RoleAsyncService, event.RoleSqlServer}
	if !reflect.DeepEqual(got.configured, want) || got.auto {
		t.Errorf("roles = %+v, want %v", got, want)
	}
	got, err = parseRoleSpec("AppServer,WebServer,auto,Portal")
	if err == nil || !strings.Contains(err.Error(), `"WebServer"`) || !strings.Contains(err.Error(), `"Portal"`) {
		t.Errorf("err = %v, want both bad roles reported", err)
	}
	if !got.auto {
		t.Error("auto not recognised")
	}
	if got, err = parseRoleSpec("None"); err != nil || !got.none || len(got.configured) != 0 {
		t.Errorf("none: %+v, %v", got, err)
	}
	for _, in := range []string{"none,AppServer", "auto,none"} {
		if _, err := parseRoleSpec(in); err == nil || !strings.Contains(err.Error(), "--roles none means this host has no CRM roles") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(cfg, []byte("collectors:\n  perf: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Name: "h", Roles: []string{"Nope"}, ConfigFile: cfg, StateDir: t.TempDir(),
		Factories: []collectors.Factory{dirsFactory{"tracefiles"}}, Prefix: "bad.prefix"})
	if err == nil {
		t.Fatal("New accepted a bad configuration")
	}
	for _, w := range []string{`"Nope"`, "collectors.perf", "bad.prefix"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	ovs, _ := Shortcuts{TraceDirs: []string{"/t"}}.Overrides()
	a, err := New(Options{Name: "h", StateDir: t.TempDir(), Set: ovs, Factories: []collectors.Factory{dirsFactory{"tracefiles"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Collectors(); !reflect.DeepEqual(got, []string{"tracefiles"}) {
		t.Errorf("collectors = %v", got)
	}
}

func FuzzParseFile(f *testing.F) {
	for _, s := range []string{"", "collectors:\n  tracefiles:\n    dirs: [a]\n", "collectors: 3", "- x", "collectors:\n  a: {b: [1, {c: d}]}\n"} {
		f.Add([]byte(s))
	}
	reg, _ := collectors.NewRegistry(dirsFactory{"tracefiles"})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile(data)
		if err != nil {
			return
		}
		_, _ = file.Configs(reg, collectors.Plan{}) // must not panic whatever the body
	})
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
