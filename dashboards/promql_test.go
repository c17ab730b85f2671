package dashboards

import (
	"slices"
	"testing"
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`crmwatch_alerts_open`, []string{"crmwatch_alerts_open"}},
		{`sum by (severity, state) (crmwatch_alerts_open{state="new"})`, []string{"crmwatch_alerts_open"}},
		{`sum(rate(a_total[5m])) by (kind) / ignoring (x) group_left (y) b`, []string{"a_total", "b"}},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket{host=~"$host"}[$__rate_interval])))`, []string{"x_bucket"}},
		{`100 - avg_over_time(m{a="sum(b)", c='d'}[1h] offset 5m) > bool 1e3`, []string{"m"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)") or on() vector(0)`, []string{"m"}},
		{`topk(5, m) unless ${var} and n # comment with words`, []string{"m", "n"}},
		{"`raw`", nil},
	}
	for _, tc := range tests {
		got, err := MetricNames(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{`sum(m`, `m{a="x"`, `m)`, `m{a="x}`, `sum by (a`, `m[5m`, `${x`} {
		if _, err := MetricNames(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzMetricNames: any input gives names or an error, never a panic, and
// every name is a metric-name word.
func FuzzMetricNames(f *testing.F) {
	for _, s := range []string{`sum by (a) (rate(m[5m]))`, `m{a="}"}`, "`x`", `${a}`, `a or b # c`, `histogram_quantile(0.9, x_bucket)`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := MetricNames(expr)
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "" || !isWordStart(n[0]) {
				t.Fatalf("%q: bad name %q", expr, n)
			}
			for i := 0; i < len(n); i++ {
				if !isWordChar(n[i]) {
					t.Fatalf("%q: bad name %q", expr, n)
				}
			}
		}
	})
}
