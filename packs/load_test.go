package packs

import (
	"strings"
	"testing"
	"testing/fstest"

	"crmwatch/rules"
)

func TestLoadMinimal(t *testing.T) {
	p, err := LoadDir("testdata/minimal")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "minimal" || p.Version.String() != "1.2.3" || len(p.Rules) != 3 {
		t.Fatalf("got %s %s with %d rules", p.Name, p.Version, len(p.Rules))
	}
	mem := p.Rule("min.memory")
	if w, c := *mem.Threshold.Levels.Warning, *mem.Threshold.Levels.Critical; w != 1638.4 || c != 819.2 {
		t.Errorf("parameter expressions: warning %v critical %v, want 1638.4 and 819.2", w, c)
	}
	if got := p.Rule("min.disk").Threshold.Counter; got != `\LogicalDisk(C:)\% Free Space` {
		t.Errorf("string parameter interpolation: %q", got)
	}
	if mem.File != "testdata/minimal/rules/main.yaml" || mem.Line != 2 {
		t.Errorf("position %s:%d", mem.File, mem.Line)
	}
	if len(p.Collect) != 1 || p.Collect[0].Counters[0].Interval != rules.Duration(15e9) {
		t.Errorf("collect: %+v", p.Collect)
	}
}

const goodPack = "format: crmwatch.pack/v1\nname: t\nversion: 1.0.0\ndescription: d\nroles: [AppServer]\n"

const goodRule = `  - id: t.a
    kind: event
    severity: error
    summary: s
    knowledge: {cause: c, resolution: r}
    event: {sources: [MSCRMPlatform]}
`

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the output, in any order
	}{
		{"missing pack.yaml", map[string]string{"rules/a.yaml": "rules: []\n"}, []string{"p/pack.yaml: missing"}},
		{"yaml syntax", map[string]string{"pack.yaml": "name: [x\n"}, []string{"p/pack.yaml: not valid YAML"}},
		{"two documents", map[string]string{"pack.yaml": goodPack + "---\nname: x\n"}, []string{"more than one YAML document"}},
		{"unknown fields everywhere, all reported", map[string]string{
			"pack.yaml":    goodPack + "colour: red\n",
			"rules/a.yaml": "rules:\n" + goodRule + "    sevrity: error\n",
		}, []string{`p/pack.yaml:6:1: /colour: unknown field "colour"`, `p/rules/a.yaml:8:5: /rules/0/sevrity: unknown field "sevrity"`}},
		{"bad version and role", map[string]string{"pack.yaml": strings.Replace(strings.Replace(goodPack, "1.0.0", "1.0", 1), "AppServer", "WebServer", 1)},
			[]string{"p/pack.yaml:3:1: /version", "p/pack.yaml:5:9: /roles/0: value must be one of"}},
		{"duplicate id", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n" + goodRule + goodRule},
			[]string{`p/rules/a.yaml:8: rule id "t.a" is already used at p/rules/a.yaml:2`}},
		{"kind without block", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n  - {id: t.b, kind: trend, summary: s, knowledge: {cause: c, resolution: r}}\n"},
			[]string{"p/rules/a.yaml:2:5: /rules/0: missing property 'trend'"}},
		{"unknown parameter", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n  - {id: t.b, kind: threshold, summary: s, knowledge: {cause: c, resolution: r}, threshold: {counter: '\\Memory\\Available MBytes', warning: '${ram * 2}'}}\n"},
			[]string{`p/rules/a.yaml:2:140: /rules/0: ${ram * 2}: unknown parameter "ram"`}},
		{"levels order and counter path", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n  - {id: t.b, kind: threshold, summary: s, knowledge: {cause: c, resolution: r}, threshold: {counter: '\\Memory', warning: 9, critical: 3}}\n"},
			[]string{"less severe than warning", `\\Memory`}},
		{"group_by unknown, regex groups ok", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n" + goodRule + "    group_by: [host, db, nope]\n    resolve_after: 1h\n" + strings.Replace(goodRule, "t.a", "t.c", 1) + "    group_by: [db]\n"},
			[]string{`rule "t.a": group_by: unknown value "db"`, `unknown value "nope"`, `rule "t.c": group_by: unknown value "db"`}},
		{"bad duration", map[string]string{"pack.yaml": goodPack, "rules/a.yaml": "rules:\n" + goodRule + "    resolve_after: 5 minutes\n"},
			[]string{"p/rules/a.yaml:8:5: /rules/0/resolve_after: '5 minutes' does not match pattern"}},
		{"yml extension", map[string]string{"pack.yaml": goodPack, "rules/a.yml": "rules: []\n"}, []string{"use the .yaml extension"}},
		{"billion laughs", map[string]string{"pack.yaml": laughs()}, []string{"p/pack.yaml: "}},
		{"merge key", map[string]string{"pack.yaml": "a: &x {b: 1}\nc:\n  <<: *x\n"}, []string{"merge keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := Load(fsys, "p")
			if err == nil {
				t.Fatal("loaded without problems")
			}
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error is %T, want Problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

// laughs builds a YAML alias bomb.
func laughs() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "a" + string(rune('a'+i-1))
		}
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestRequirements(t *testing.T) {
	mk := func(name, ver string, req ...Requirement) *Pack {
		v, _ := ParseVersion(ver)
		return &Pack{Dir: name, Name: name, Version: v, Requires: req}
	}
	tests := []struct {
		name string
		ps   []*Pack
		want string
	}{
		{"met", []*Pack{mk("a", "1.0.0", Requirement{"b", ">=1.2, <2"}), mk("b", "1.4.0")}, ""},
		{"caret", []*Pack{mk("a", "1.0.0", Requirement{"b", "^1.2.0"}), mk("b", "2.0.0")}, `requires pack "b" ^1.2.0, but b has version 2.0.0`},
		{"absent", []*Pack{mk("a", "1.0.0", Requirement{"b", "~1.2"})}, `requires pack "b" ~1.2, which is not loaded`},
		{"twice", []*Pack{mk("a", "1.0.0"), mk("a", "1.0.0")}, "load each pack once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRequirements(tt.ps)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestVersionConstraint(t *testing.T) {
	tests := []struct {
		c, v string
		ok   bool
	}{
		{">=1.2.0, <2.0.0", "1.9.9", true}, {">=1.2.0 <2.0.0", "2.0.0", false},
		{"^1.2", "1.3.0", true}, {"^1.2", "1.1.9", false}, {"~1.2.0", "1.2.7", true}, {"~1.2.0", "1.3.0", false},
		{"1.2.3", "1.2.3", true}, {"=1.2.3", "1.2.3-rc.1", false}, {"<1.0.0", "1.0.0-rc.1", true},
	}
	for _, tt := range tests {
		c, err := ParseConstraint(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseVersion(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Allows(v); got != tt.ok {
			t.Errorf("%q allows %s = %v, want %v", tt.c, tt.v, got, tt.ok)
		}
	}
	for _, bad := range []string{"", "!1.0", ">=x"} {
		if _, err := ParseConstraint(bad); err == nil {
			t.Errorf("ParseConstraint(%q) accepted", bad)
		}
	}
}

func TestExpressions(t *testing.T) {
	p := Params{"ram_mb": 1000.0, "cpus": 4.0, "name": "MSSQL$CRM"}
	tests := []struct {
		expr string
		want any
		err  bool
	}{
		{"ram_mb * 0.1", 100.0, false}, {"2 * cpus + 1", 9.0, false}, {"(600 / 15) * 500", 20000.0, false},
		{"-cpus", -4.0, false}, {"name", "MSSQL$CRM", false}, {"name * 2", nil, true}, {"1 / 0", nil, true},
		{"nope", nil, true}, {"1 +", nil, true}, {"(1", nil, true}, {"1 2", nil, true},
	}
	for _, tt := range tests {
		got, err := evalExpr(tt.expr, p)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("%q = %v, %v; want %v (error %v)", tt.expr, got, err, tt.want, tt.err)
		}
	}
}
