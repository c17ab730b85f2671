package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"crmwatch/collectors"
	"crmwatch/collectors/perfcounters"
	"crmwatch/event"
	"crmwatch/packs"
	"crmwatch/packs/crm"
	"crmwatch/packs/promexport"
	"crmwatch/rules"
	"crmwatch/secret"
)

// fixedSource is a host whose counters hold fixed values.
type fixedSource map[string]float64

func (f fixedSource) Read(_ context.Context, want []event.CounterPath) ([]perfcounters.Reading, error) {
	var out []perfcounters.Reading
	for _, w := range want {
		if v, ok := f[w.String()]; ok {
			out = append(out, perfcounters.Reading{Path: w, Value: v})
		}
	}
	return out, nil
}

func (fixedSource) Close() error { return nil }

// busyHost crosses four of the built-in pack's PAL thresholds.
var busyHost = fixedSource{
	`\Processor(_Total)\% Processor Time`:                                   95,  // > 50 warning, > 80 critical
	`\Memory\Available MBytes`:                                              500, // < 10 % and < 5 % of ram_mb 16384
	`\LogicalDisk(C:)\% Free Space`:                                         3,   // < 10 warning, < 5 critical
	`\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`: 150, // > async_max_outstanding 100
}

func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("promtool is not installed but CI is set: run scripts/setup.sh (Debian package prometheus)")
	}
	t.Skip("promtool not found (Debian package prometheus, installed by scripts/setup.sh)")
	return ""
}

// TestMetricsEvaluateExportedRules scrapes a live agent's /metrics,
// checks the page with promtool check metrics, and evaluates the rules
// `crmwatch pack export-prometheus` writes for the built-in pack over the
// scraped series with promtool test rules: the series carry exactly the
// labels the exported rules select.
func TestMetricsEvaluateExportedRules(t *testing.T) {
	tool := promtool(t)
	natsURL, _, _ := startJetStream(t)
	paths := make([]string, 0, len(busyHost))
	for p := range busyHost {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	a, err := New(Options{
		NATS: secret.MustURL(natsURL), Name: "CRMAPP01", StateDir: t.TempDir(), MetricsListen: "127.0.0.1:0", HeartbeatEvery: time.Hour,
		Set: []Override{
			{Key: "collectors.perfcounters.interval", Value: "1s", Flag: "test"},
			{Key: "collectors.perfcounters.counters", Value: []any{map[string]any{"paths": toAny(paths)}}, Flag: "test"},
		},
		Factories: []collectors.Factory{perfcounters.NewFactory(perfcounters.WithSource(func() (perfcounters.Source, error) { return busyHost, nil }))},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var page []byte
	waitFor(t, "four crmwatch_perfcounter_value series on /metrics", func() bool {
		if a.MetricsAddr() == "" {
			return false
		}
		page = scrape(t, "http://"+a.MetricsAddr()+"/metrics")
		return bytes.Count(page, []byte("\n"+packs.CounterMetric+"{")) == 4
	})

	check := exec.Command(tool, "check", "metrics")
	check.Stdin = bytes.NewReader(page)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	series := scrapedSeries(t, page, a.MetricsAddr())
	rulesFile, err := promexport.Export([]*packs.Pack{mustBuiltin(t)}, promexport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var exported promexport.RuleFile
	if err := yaml.Unmarshal(rulesFile, &exported); err != nil {
		t.Fatal(err)
	}
	var tests []alertTest
	for _, id := range []string{"crm.windows.processor-time", "crm.windows.available-mbytes", "crm.windows.disk-free-percent",
		"crm.counter.async.workflow-operations-outstanding"} {
		tests = append(tests, expectAll(t, exported, id, series))
	}
	unit := map[string]any{
		"rule_files": []string{"rules.yaml"}, "evaluation_interval": "15s",
		"tests": []map[string]any{{"name": "a scrape of a busy CRM host", "interval": "15s", "input_series": inputSeries(series),
			"alert_rule_test": tests}},
	}
	dir := t.TempDir()
	data, _ := yaml.Marshal(unit)
	for name, b := range map[string][]byte{"rules.yaml": rulesFile, "tests.yaml": data} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tool, "test", "rules", "tests.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\ninput:\n%s", err, out, data)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func mustBuiltin(t *testing.T) *packs.Pack {
	p, err := crm.Load()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func scrape(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// scraped is one crmwatch_perfcounter_value series as Prometheus would store
// it: the exposed labels (empty ones dropped) plus job and instance.
type scraped struct {
	labels map[string]string
	value  float64
}

func scrapedSeries(t *testing.T, page []byte, addr string) []scraped {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []scraped
	for _, m := range fams[packs.CounterMetric].GetMetric() {
		ls := map[string]string{"job": "crmwatch-agent", "instance": addr}
		for _, l := range m.GetLabel() {
			if l.GetValue() != "" {
				ls[l.GetName()] = l.GetValue()
			}
		}
		out = append(out, scraped{labels: ls, value: m.GetGauge().GetValue()})
	}
	return out
}

func inputSeries(ss []scraped) []map[string]string {
	var out []map[string]string
	for _, s := range ss {
		names := make([]string, 0, len(s.labels))
		for k := range s.labels {
			names = append(names, k)
		}
		slices.Sort(names)
		var b strings.Builder
		b.WriteString(packs.CounterMetric + "{")
		for i, k := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k + "=" + strconv.Quote(s.labels[k]))
		}
		b.WriteString("}")
		out = append(out, map[string]string{"series": b.String(), "values": strconv.FormatFloat(s.value, 'f', -1, 64) + "x20"})
	}
	return out
}

type alertTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

var tmplRef = regexp.MustCompile(`\{\{\s*\$labels\.([a-z_]+)\s*\}\}|\{\{\s*\$value\s*\}\}`)

// expectAll expects every exported alert of rule id (each severity) to
// fire for the one scraped series its selector matches, with the
// annotations rendered as Prometheus renders them.
func expectAll(t *testing.T, f promexport.RuleFile, id string, series []scraped) alertTest {
	t.Helper()
	var out alertTest
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Labels["rule_id"] != id {
				continue
			}
			out.Alertname, out.EvalTime = r.Alert, "5m"
			s := matching(t, r.Expr, series)
			labels := map[string]string{}
			for k, v := range s.labels {
				labels[k] = v
			}
			for k, v := range r.Labels {
				labels[k] = v
			}
			ann := map[string]string{}
			for k, v := range r.Annotations {
				v = strings.ReplaceAll(v, promexport.ValueText(), rules.Reading(s.value).String())
				ann[k] = tmplRef.ReplaceAllStringFunc(v, func(m string) string {
					if sub := tmplRef.FindStringSubmatch(m); sub[1] != "" {
						return s.labels[sub[1]]
					}
					return strconv.FormatFloat(s.value, 'f', -1, 64)
				})
			}
			out.ExpAlerts = append(out.ExpAlerts, expAlert{ExpLabels: labels, ExpAnnotations: ann})
		}
	}
	if len(out.ExpAlerts) == 0 {
		t.Fatalf("the export has no alert for rule %s", id)
	}
	return out
}

// matching finds the scraped series the selector at the start of expr
// selects (equality matchers only, as the export writes them).
func matching(t *testing.T, expr string, series []scraped) scraped {
	t.Helper()
	sel := expr[strings.Index(expr, "{")+1 : strings.Index(expr, "}")]
	for _, s := range series {
		ok := true
		for _, m := range regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(sel, -1) {
			want, _ := strconv.Unquote(`"` + m[2] + `"`)
			if s.labels[m[1]] != want {
				ok = false
			}
		}
		if ok {
			return s
		}
	}
	t.Fatalf("no scraped series matches %s", expr)
	return scraped{}
}
