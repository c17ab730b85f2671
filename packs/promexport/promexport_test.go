package promexport_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/packs/promexport"
	"crmwatch/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	promtestDir       = "testdata/pack"
	promtestOverrides = "testdata/overrides.yaml"
)

// loadPromtest loads the export test pack and, if asked, its overrides.
func loadPromtest(t testing.TB, withOverrides bool) (*packs.Pack, []*packs.Overrides) {
	t.Helper()
	p, err := packs.LoadDir(promtestDir)
	if err != nil {
		t.Fatal(err)
	}
	if !withOverrides {
		return p, nil
	}
	ovs, err := packs.LoadOverridesFiles([]string{promtestOverrides}, []*packs.Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	return p, ovs
}

func TestExportPrometheusGolden(t *testing.T) {
	tests := []struct {
		name      string
		overrides bool
		sample    time.Duration
		eval      time.Duration
		golden    string
	}{
		{"untargeted overrides, default intervals", true, 0, 0, "promtest.golden.yaml"},
		{"pack defaults, 1m samples evaluated every 30s", false, time.Minute, 30 * time.Second, "promtest-1m.golden.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ovs := loadPromtest(t, tc.overrides)
			got, err := promexport.Export([]*packs.Pack{p}, promexport.Options{Overrides: ovs, SampleInterval: tc.sample, EvalInterval: tc.eval})
			if err != nil {
				t.Fatal(err)
			}
			again, _ := promexport.Export([]*packs.Pack{p}, promexport.Options{Overrides: ovs, SampleInterval: tc.sample, EvalInterval: tc.eval})
			if !bytes.Equal(got, again) {
				t.Fatal("two exports of the same pack differ; the output must be deterministic")
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./packs -run TestExportPrometheusGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("export differs from %s (rerun with -update after checking the change):\n%s", golden, got)
			}
		})
	}
}

func TestExportPrometheusContent(t *testing.T) {
	p, ovs := loadPromtest(t, true)
	out, err := promexport.Export([]*packs.Pack{p}, promexport.Options{Overrides: ovs})
	if err != nil {
		t.Fatal(err)
	}
	file := parseExport(t, out)
	tests := []struct {
		name, alert, severity string
		want                  []string // substrings of expr, for
	}{
		{"untargeted parameter override applies", "PxQueue", "warning", []string{`> 20 or (`, "for:30s"}},
		{"role override does not", "PxSqlLockWaits", "warning", []string{"> 0", "[10m]", "for:30s"}},
		{"collect interval sets for", "PxSqlLockWaits", "warning", []string{"for:30s"}},
		{"samples override shortens the trend", "PxFailures", "critical", []string{"offset 45s", "!offset 1m"}},
		{"max_severity error caps the rising alert", "PxFailuresCapped", "error", []string{"offset 1m"}},
		{"wildcard instance has no instance matcher", "PxWeirdName", "critical", []string{`!counter_instance`, `counter="% bytes/sec (x\\y) \"q\""`, ">= 30.5"}},
		{"delta is increase", "PxGrowth", "warning", []string{"increase(", "[1h]) > 104857600"}},
		{"rate", "PxRate", "error", []string{"rate(", "[5m]) > 0.5"}},
		{"le and min", "PxFreeMin", "critical", []string{"min_over_time(", "[15m]) <= 100"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := findAlert(t, file, tc.alert, tc.severity)
			text := a.Expr + " for:" + a.For
			for _, w := range tc.want {
				if neg, ok := strings.CutPrefix(w, "!"); ok {
					if strings.Contains(text, neg) {
						t.Errorf("%s %s: %q must not contain %q", tc.alert, tc.severity, text, neg)
					}
				} else if !strings.Contains(text, w) {
					t.Errorf("%s %s: %q does not contain %q", tc.alert, tc.severity, text, w)
				}
			}
		})
	}
	if n := countAlerts(file, "PxWarningOnly"); n != 1 {
		t.Errorf("max_severity warning: %d alerts, want only the warning one", n)
	}
	if n := countAlerts(file, "PxSwitchedOff"); n != 0 {
		t.Errorf("disabled rule exported %d alerts", n)
	}
	for _, id := range []string{"px.agent-missing: missing rule", "px.correlated: correlation rule", "px.event: event rule", "px.switched-off: disabled"} {
		if !bytes.Contains(out, []byte("#   "+id)) {
			t.Errorf("header does not list %q", id)
		}
	}
}

func parseExport(t testing.TB, data []byte) promexport.RuleFile {
	t.Helper()
	var f promexport.RuleFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("exported file is not YAML: %v", err)
	}
	return f
}

func findAlert(t testing.TB, f promexport.RuleFile, name, severity string) promexport.Alert {
	t.Helper()
	for _, g := range f.Groups {
		for _, a := range g.Rules {
			if a.Alert == name && a.Labels["severity"] == severity {
				return a
			}
		}
	}
	t.Fatalf("no alert %s with severity %s", name, severity)
	return promexport.Alert{}
}

func countAlerts(f promexport.RuleFile, name string) int {
	n := 0
	for _, g := range f.Groups {
		for _, a := range g.Rules {
			if a.Alert == name {
				n++
			}
		}
	}
	return n
}

// summaryPack is a one-rule pack whose summary is text.
func summaryPack(text string) fstest.MapFS {
	rule := "rules:\n  - id: s.one\n    kind: threshold\n    summary: " + yamlQuote(text) +
		"\n    knowledge: {cause: c, resolution: r}\n    threshold: {counter: '\\Memory\\Available MBytes', op: lt, warning: 100}\n"
	return fstest.MapFS{
		"pack.yaml":      {Data: []byte("format: crmwatch.pack/v1\nname: s\nversion: 1.0.0\ndescription: d\nroles: [AppServer]\n")},
		"rules/one.yaml": {Data: []byte(rule)},
	}
}

func yamlQuote(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSuffix(string(b), "\n")
}

func exportSummary(t testing.TB, text string) (string, bool) {
	t.Helper()
	p, err := packs.Load(summaryPack(text), "s")
	if err != nil {
		return "", false // the engine refuses the template itself
	}
	out, err := promexport.Export([]*packs.Pack{p}, promexport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return findAlert(t, parseExport(t, out), "SOne", "warning").Annotations["summary"], true
}

func TestPromSummary(t *testing.T) {
	// {{.Value}} printed alone is rounded as the engine's rules.Reading is.
	value := `{{if or (ge $value 10000.0) (le $value -10000.0)}}{{printf "%.0f" $value}}{{else}}{{printf "%.4g" $value}}{{end}}`
	fallback := `{{ $labels.host }}: \Memory\Available MBytes is ` + value
	tests := []struct{ in, want string }{
		{"{{.Host}}: {{.Value}} MB free", "{{$labels.host}}: " + value + " MB free"},
		{"{{.Instance}} {{lower .Host}} {{upper .Instance}}", "{{$labels.counter_instance}} {{toLower $labels.host}} {{toUpper $labels.counter_instance}}"},
		{`{{printf "%.0f" .Value}} on {{.Counter}}`, `{{printf "%.0f" $value}} on {{"\\Memory\\Available MBytes"}}`},
		{"{{if lt .Value 10.0}}very {{end}}low on {{.Host}}", "{{if lt $value 10.0}}very {{end}}low on {{$labels.host}}"},
		{"{{.Host}} {{.Message}}", fallback},
		{"{{join .Hosts \", \"}}", fallback},
		{"{{range .Hosts}}{{.}}{{end}}", fallback},
		{"{{with .Host}}{{.}}{{end}}", fallback},
		{"{{.Fields.database}}", fallback},
		{"{{$.Host}} {{$h := .Host}}{{$h}}", fallback},
		{"{{$h := .Host}}{{$h}}", "{{$h := $labels.host}}{{$h}}"},
		{"plain text", "plain text"},
	}
	for _, tc := range tests {
		got, ok := exportSummary(t, tc.in)
		if !ok {
			t.Fatalf("pack with summary %q does not load", tc.in)
		}
		if got != tc.want {
			t.Errorf("summary %q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// FuzzPromSummary: whatever summary the engine accepts, the exported one
// parses as a Prometheus template.
func FuzzPromSummary(f *testing.F) {
	for _, s := range []string{"{{.Host}}: {{.Value}}", "{{upper .Instance}}", "{{if gt .Value 1.0}}x{{end}}", "{{.Message}}", `{{printf "%q" .Counter}}`, "{{/* c */}}{{.Count}}", "a {{ \"{{\" }} b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := exportSummary(t, s)
		if !ok {
			return
		}
		funcs := template.FuncMap{"toUpper": strings.ToUpper, "toLower": strings.ToLower}
		header := "{{$labels := .Labels}}{{$value := .Value}}"
		if _, err := template.New("p").Funcs(funcs).Parse(header + got); err != nil {
			t.Fatalf("summary %q exported as %q, which Prometheus cannot parse: %v", s, got, err)
		}
	})
}

func TestExportPrometheusErrors(t *testing.T) {
	p, _ := loadPromtest(t, false)
	bad := fstest.MapFS{"o.yaml": {Data: []byte("format: crmwatch.overrides/v1\noverrides:\n  - {rule: px.queue, warning: 1000}\n")}}
	ov, err := packs.ParseOverrides(bad, "o.yaml", []*packs.Pack{p})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts promexport.Options
		want string
	}{
		{"interval below 1ms", promexport.Options{SampleInterval: time.Microsecond}, "at least 1ms"},
		{"override breaks the level order", promexport.Options{Overrides: []*packs.Overrides{ov}}, `export pack promtest`},
	}
	for _, tc := range tests {
		_, err := promexport.Export([]*packs.Pack{p}, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func BenchmarkExportPrometheus(b *testing.B) {
	p, err := crm.Load()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := promexport.Export([]*packs.Pack{p}, promexport.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// effectiveRule returns rule id of p as the export sees it (untargeted
// overrides only).
func effectiveRule(t testing.TB, p *packs.Pack, ovs []*packs.Overrides, id string) rules.Rule {
	t.Helper()
	rs, err := packs.Effective(p, ovs, packs.Target{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rs, func(r rules.Rule) bool { return r.ID == id })
	if i < 0 {
		t.Fatalf("no rule %s", id)
	}
	return rs[i]
}

// promtoolPath finds promtool; without it the test skips, except in CI.
func promtoolPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/promtool"); err == nil {
		return "/usr/bin/promtool"
	}
	if os.Getenv("CI") != "" {
		t.Fatal("promtool is not installed but CI is set: install the Debian package prometheus (the CI setup script does)")
	}
	t.Skip("promtool not found (Debian package prometheus); this test runs in CI")
	return ""
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtoolPath(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	builtin, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, ovs := loadPromtest(t, true)
	tests := []struct {
		name string
		p    *packs.Pack
		ovs  []*packs.Overrides
	}{{"builtin crm pack", builtin, nil}, {"promtest pack with overrides", p, ovs}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := promexport.Export([]*packs.Pack{tc.p}, promexport.Options{Overrides: tc.ovs})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			runPromtool(t, dir, "check", "rules", "rules.yaml")
		})
	}
}

// The shape of a promtool unit-test file (promtool test rules).
type (
	promTestFile struct {
		RuleFiles          []string   `yaml:"rule_files"`
		EvaluationInterval string     `yaml:"evaluation_interval"`
		Tests              []promTest `yaml:"tests"`
	}
	promTest struct {
		Name          string          `yaml:"name"`
		Interval      string          `yaml:"interval"`
		InputSeries   []promSeries    `yaml:"input_series"`
		AlertRuleTest []promAlertTest `yaml:"alert_rule_test"`
	}
	promSeries struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	promAlertTest struct {
		EvalTime  string         `yaml:"eval_time"`
		Alertname string         `yaml:"alertname"`
		ExpAlerts []promExpAlert `yaml:"exp_alerts"`
	}
	promExpAlert struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	}
)

// fire is one alert expected at an evaluation time.
type fire struct {
	host, path, severity string
	value                float64
}

// scenario builds promtool tests for one exported pack: series written
// through CounterSeries, expected alerts with the annotations the engine's
// own summary template renders for the same values.
type scenario struct {
	t   *testing.T
	p   *packs.Pack
	ovs []*packs.Overrides
}

func (s scenario) series(host, path, values string) promSeries {
	cp, err := event.ParseCounterPath(path)
	if err != nil {
		s.t.Fatal(err)
	}
	return promSeries{Series: packs.Selector(packs.CounterSeries(host, cp)), Values: values}
}

func (s scenario) expect(id, alert, at string, fires ...fire) promAlertTest {
	r := effectiveRule(s.t, s.p, s.ovs, id)
	tmpl := template.Must(template.New(id).Funcs(template.FuncMap{"join": strings.Join, "lower": strings.ToLower, "upper": strings.ToUpper}).Parse(r.Summary))
	counter := ""
	if r.Threshold != nil {
		counter = r.Threshold.Counter
	} else {
		counter = r.Trend.Counter
	}
	out := promAlertTest{EvalTime: at, Alertname: alert, ExpAlerts: []promExpAlert{}}
	for _, f := range fires {
		cp, err := event.ParseCounterPath(f.path)
		if err != nil {
			s.t.Fatal(err)
		}
		_, ls := packs.CounterSeries(f.host, cp)
		labels := map[string]string{"pack": s.p.Name, "rule_id": id, "severity": f.severity}
		for _, l := range ls {
			if l.Value != "" { // Prometheus drops empty labels
				labels[l.Name] = l.Value
			}
		}
		var sum bytes.Buffer
		data := rules.SummaryData{Host: f.host, Instance: strings.ToLower(cp.Instance), Value: rules.Reading(f.value), Counter: counter}
		if err := tmpl.Execute(&sum, data); err != nil {
			s.t.Fatal(err)
		}
		out.ExpAlerts = append(out.ExpAlerts, promExpAlert{ExpLabels: labels, ExpAnnotations: map[string]string{
			"summary": sum.String(), "description": cmpOr(r.Description, "crmwatch "+string(r.Kind)+" rule on "+counter),
			"cause": r.Knowledge.Cause, "resolution": r.Knowledge.Resolution,
		}})
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// runScenario exports the pack, writes the unit tests beside it and runs
// promtool test rules.
func (s scenario) run(tests ...promTest) {
	s.t.Helper()
	out, err := promexport.Export([]*packs.Pack{s.p}, promexport.Options{Overrides: s.ovs})
	if err != nil {
		s.t.Fatal(err)
	}
	unit, err := yaml.Marshal(promTestFile{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "15s", Tests: tests})
	if err != nil {
		s.t.Fatal(err)
	}
	dir := s.t.TempDir()
	for name, data := range map[string][]byte{"rules.yaml": out, "tests.yaml": unit} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	runPromtool(s.t, dir, "test", "rules", "tests.yaml")
}

// TestPromtoolFiresBuiltinRules proves in promtool's evaluator that a
// threshold rule and trend rules of the built-in pack fire for series that
// cross them, at the times the engine would raise them, and not otherwise.
func TestPromtoolFiresBuiltinRules(t *testing.T) {
	promtoolPath(t)
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := scenario{t: t, p: p}
	const (
		cpu       = `\Processor(_Total)\% Processor Time`
		failed    = `\CRM Server(OrganizationWebService)\Failed Organization Service Requests`
		transient = `\CRM Async Service(mscrmasyncservice)\Exchange Sync: Transient Errors for Tasks`
		cpuRule   = "crm.windows.processor-time"
		failRule  = "crm.counter.server.failed-organization-service-requests"
		transRule = "crm.counter.async.exchange-sync-transient-errors-for-tasks"
	)
	s.run(promTest{
		Name:     "processor time: warning and critical on the busy host only",
		Interval: "15s",
		InputSeries: []promSeries{
			s.series("CRMAPP01", cpu, "10x4 95x10"),
			s.series("CRMAPP02", cpu, "10x14"),
		},
		AlertRuleTest: []promAlertTest{
			s.expect(cpuRule, "CrmWindowsProcessorTime", "30s"),
			s.expect(cpuRule, "CrmWindowsProcessorTime", "2m",
				fire{"CRMAPP01", cpu, "warning", 95}, fire{"CRMAPP01", cpu, "critical", 95}),
		},
	}, promTest{
		// Samples every 15s: a rise at 45s, flat until 2m, then rises at
		// 2m15s, 2m30s, 2m45s and 3m. The engine warns from 45s to 1m15s
		// (resolved after 3 flat samples), warns again from 2m15s and is
		// critical at 2m45s (third rise in a row) and 3m.
		Name:     "failed organization service requests: PAL trend",
		Interval: "15s",
		InputSeries: []promSeries{
			s.series("CRMAPP01", failed, "0 0 0 1 1 1 1 1 1 2 3 4 5 5 5"),
			s.series("CRMAPP02", failed, "3x14"),
		},
		AlertRuleTest: []promAlertTest{
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "30s"),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "45s", fire{"CRMAPP01", failed, "warning", 1}),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "75s", fire{"CRMAPP01", failed, "warning", 1}),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "90s"),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "150s", fire{"CRMAPP01", failed, "warning", 3}),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "165s",
				fire{"CRMAPP01", failed, "warning", 4}, fire{"CRMAPP01", failed, "critical", 4}),
			s.expect(failRule, "CrmCounterServerFailedOrganizationServiceRequests", "210s", fire{"CRMAPP01", failed, "warning", 5}),
		},
	}, promTest{
		Name:        "transient errors never go beyond warning (max_severity)",
		Interval:    "15s",
		InputSeries: []promSeries{s.series("CRMASYNC01", transient, "0+1x10")},
		AlertRuleTest: []promAlertTest{
			s.expect(transRule, "CrmCounterAsyncExchangeSyncTransientErrorsForTasks", "2m", fire{"CRMASYNC01", transient, "warning", 8}),
		},
	})
}

// TestPromtoolFiresPromtestRules covers for: from consecutive, recovery
// hysteresis, a wildcard instance and a counter name full of characters
// PromQL must escape.
func TestPromtoolFiresPromtestRules(t *testing.T) {
	promtoolPath(t)
	p, ovs := loadPromtest(t, true)
	s := scenario{t: t, p: p, ovs: ovs}
	const (
		queue  = `\App Queue\Length`
		weird1 = `\Weird$Obj(Inst(1)\x)\% Bytes/sec (x\y) "q"`
		weird2 = `\Weird$Obj(idle)\% Bytes/sec (x\y) "q"`
	)
	s.run(promTest{
		// queue_limit is 20 after the overrides, recovery 5, consecutive 3.
		Name:        "queue: fires on the third sample over 20, clears below 5",
		Interval:    "15s",
		InputSeries: []promSeries{s.series("CRMAPP01", queue, "0 25 25 25 25 8 8 3 3")},
		AlertRuleTest: []promAlertTest{
			s.expect("px.queue", "PxQueue", "30s"),
			s.expect("px.queue", "PxQueue", "45s", fire{"CRMAPP01", queue, "warning", 25}),
			s.expect("px.queue", "PxQueue", "90s", fire{"CRMAPP01", queue, "warning", 8}),
			s.expect("px.queue", "PxQueue", "105s"),
		},
	}, promTest{
		Name:     "every instance of a wildcard counter is its own series",
		Interval: "15s",
		InputSeries: []promSeries{
			s.series("crmapp09", weird1, "40x10"),
			s.series("crmapp09", weird2, "1x10"),
		},
		AlertRuleTest: []promAlertTest{
			s.expect("px.weird-name", "PxWeirdName", "2m",
				fire{"crmapp09", weird1, "warning", 40}, fire{"crmapp09", weird1, "error", 40}, fire{"crmapp09", weird1, "critical", 40}),
		},
	})
}
