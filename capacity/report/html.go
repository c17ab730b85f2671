package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// writeHTML writes one self-contained page: inline CSS and SVG charts, no
// script, no external asset, readable on screen and printed.
func writeHTML(w io.Writer, r *Report) error {
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"v":        fmtValue,
	"date":     func(t time.Time) string { return t.Format("2006-01-02") },
	"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
	"pct":      func(v float64) string { return fmt.Sprintf("%+.0f %%", v) },
	"f1":       func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"days": func(d *float64) string {
		if d == nil {
			return "not within the horizon"
		}
		return fmt.Sprintf("%.0f days", *d)
	},
	"chart":     forecastChart,
	"sparkline": sparkline,
	"charted":   charted,
	"deref": func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	},
}).Parse(pageHTML))

// charted are the forecasts drawn: those with a threshold, soonest first,
// at most 12.
func charted(fs []Forecast) []Forecast {
	var out []Forecast
	for _, f := range fs {
		if f.Threshold != nil && len(f.History) > 0 && len(out) < 12 {
			out = append(out, f)
		}
	}
	return out
}

const chartW, chartH, pad = 520.0, 180.0, 34.0

// forecastChart draws the daily p95 history, the projection with its band
// and the threshold.
func forecastChart(f Forecast) template.HTML {
	if len(f.History) == 0 {
		return ""
	}
	t0 := f.History[0].Day
	t1 := f.History[len(f.History)-1].Day
	if n := len(f.Points); n > 0 {
		t1 = f.Points[min(n, 90)-1].Time // at most 90 days ahead on the chart
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, h := range f.History {
		lo, hi = min(lo, h.Value), max(hi, h.Value)
	}
	pts := f.Points[:min(len(f.Points), 90)]
	for _, p := range pts {
		lo, hi = min(lo, p.Low), max(hi, p.High)
	}
	if f.Threshold != nil {
		lo, hi = min(lo, *f.Threshold), max(hi, *f.Threshold)
	}
	if lo > 0 && lo < (hi-lo) {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return pad + (chartW-pad-8)*t.Sub(t0).Seconds()/span }
	y := func(v float64) float64 { return chartH - 20 - (chartH-30)*(v-lo)/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s on %s">`, chartW, chartH, chartW, chartH,
		template.HTMLEscapeString(f.Name), template.HTMLEscapeString(f.Host))
	fmt.Fprintf(&b, `<rect x="%.0f" y="10" width="%.0f" height="%.0f" fill="#fafafa" stroke="#ddd"/>`, pad, chartW-pad-8, chartH-30)
	if len(pts) > 0 {
		b.WriteString(`<polygon fill="#cfe0f5" stroke="none" points="`)
		for _, p := range pts {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.Time), y(p.High))
		}
		for i := len(pts) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(pts[i].Time), y(pts[i].Low))
		}
		b.WriteString(`"/>`)
		last := f.History[len(f.History)-1]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#2563a8" stroke-width="1.5" stroke-dasharray="5 3" points="%.1f,%.1f `, x(last.Day), y(last.Value))
		for _, p := range pts {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.Time), y(p.Value))
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`<polyline fill="none" stroke="#1b1b1b" stroke-width="1.5" points="`)
	for _, h := range f.History {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(h.Day), y(h.Value))
	}
	b.WriteString(`"/>`)
	if f.Threshold != nil {
		ty := y(*f.Threshold)
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#c0392b" stroke-dasharray="3 3"/>`, pad, chartW-8, ty, ty)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="10" fill="#c0392b" text-anchor="end">threshold %s</text>`, chartW-10, ty-3, fmtValue(*f.Threshold, f.Unit))
	}
	if f.CrossesAt != nil && !f.CrossesAt.After(t1) {
		cx := x(*f.CrossesAt)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="10" y2="%.0f" stroke="#c0392b"/>`, cx, cx, chartH-20)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`, pad-3, y(hi)+4, fmtValue(hi, f.Unit))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`, pad-3, y(lo), fmtValue(lo, f.Unit))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10">%s</text>`, pad, chartH-5, t0.Format("Jan 2"))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle">today</text>`, x(f.History[len(f.History)-1].Day), chartH-5)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`, chartW-8, chartH-5, t1.Format("Jan 2"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and escaped text only
}

// sparkline draws daily values as bars.
func sparkline(ds []DayValue) template.HTML {
	if len(ds) == 0 {
		return ""
	}
	hi := 0.0
	for _, d := range ds {
		hi = max(hi, d.Value)
	}
	if hi == 0 {
		hi = 1
	}
	const w, h = 150.0, 26.0
	bw := w / float64(len(ds))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" aria-hidden="true">`, w, h, w, h)
	for i, d := range ds {
		bh := (h - 2) * d.Value / hi
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#2563a8"/>`, float64(i)*bw, h-bh, max(bw-0.5, 0.5), bh)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers only
}

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>crmwatch capacity report {{date .To}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:2px solid #2563a8;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{padding:4px 8px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.l,th.l{text-align:left}th{background:#f1f4f8;font-weight:600}
.tier{background:#f1f4f8;border-left:5px solid #2563a8;padding:10px 14px;margin:10px 0}
.tier b{font-size:18px}.muted{color:#666}.warn{color:#c0392b;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(530px,1fr));gap:12px}
.chart{border:1px solid #e3e3e3;padding:8px;break-inside:avoid}.chart h3{font-size:14px;margin:0 0 4px}
ul{margin:4px 0 10px 18px;padding:0}li{margin:2px 0}
@media print{body{margin:0;max-width:none;font-size:11px}.chart,table,.tier{break-inside:avoid}h2{break-after:avoid}}
</style></head><body>
<h1>Capacity report</h1>
<div class="muted">{{datetime .From}} – {{datetime .To}} · generated {{datetime .Generated}} by crmwatch · report format {{.Version}}</div>

<h2>Tier and advice</h2>
<div class="tier"><b>{{.Tier.Current}}</b>{{if .Tier.Limits.Users}} — up to {{.Tier.Limits.Users}} users and {{.Tier.Limits.Organizations}} organizations{{end}}<br>
{{.Tier.Users}} users (busiest hour {{.Tier.ConcurrentUsers}} distinct users at 60 % concurrency), {{.Tier.Organizations}} organizations.
{{if .Tier.Limits.Users}}Headroom: {{f1 .Tier.UsersHeadroomPct}} % of users, {{f1 .Tier.OrgsHeadroomPct}} % of organizations.
Next tier: {{if .Tier.NextInDays}}<span class="warn">{{.Tier.Next}} in {{days .Tier.NextInDays}}</span> ({{.Tier.NextMethod}}){{else}}not within the horizon{{end}}.{{end}}
{{if .Tier.ScaleFirst}}<br>Scale first: <b>{{.Tier.ScaleFirst}}</b> — {{.Tier.ScaleFirstWhy}}{{end}}</div>
{{range .Tier.Advice}}<p><b>{{.Topic}}.</b> {{.Text}}</p>{{if .Figures}}<ul>{{range .Figures}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
<p class="muted">Source of the tiers and sizing rules: {{.Tier.Source}}. Thresholds: PAL threshold files (crmwatch's CRM domain reference §4.2).</p>

<h2>Forecasts</h2>
<p class="muted">Daily 95th percentile, projected by the better of a least-squares line and additive Holt-Winters (weekly season) on a back-test of the last days; band: 95 %.</p>
<div class="charts">{{range charted .Forecasts}}<div class="chart"><h3>{{.Name}} · {{.Host}} <span class="muted">({{.Role}})</span></h3>
{{chart .}}<div>{{.Method}} · threshold {{v (deref .Threshold) .Unit}} {{.Unit}} · {{if .DaysToThreshold}}<span class="warn">crossed in {{days .DaysToThreshold}}</span>{{else}}not crossed within the horizon{{end}} · trend {{f1 .SlopePerDay}} {{.Unit}}/day</div></div>
{{end}}</div>

<h2>Farm</h2>
<table><tr><th>Indicator</th><th>Average</th><th>p95</th><th>Peak</th><th>Peak at</th><th>Trend /30 days</th></tr>
{{range .Farm}}<tr><td>{{.Name}} ({{.Unit}})</td><td>{{v .Avg .Unit}}</td><td>{{v .P95 .Unit}}</td><td>{{v .Peak .Unit}}</td><td>{{datetime .PeakAt}}</td><td>{{pct .TrendPct}}</td></tr>{{end}}</table>

<h2>Roles</h2>
{{range .Roles}}<h3>{{.Name}} <span class="muted">{{range .Hosts}}{{.}} {{end}}</span></h3>
<table><tr><th>Indicator</th><th>Average</th><th>p95</th><th>Peak</th><th>Trend /30 days</th></tr>
{{range .Stats}}<tr><td>{{.Name}} ({{.Unit}})</td><td>{{v .Avg .Unit}}</td><td>{{v .P95 .Unit}}</td><td>{{v .Peak .Unit}}</td><td>{{pct .TrendPct}}</td></tr>{{end}}</table>{{end}}

<h2>Servers</h2>
<table><tr><th>Server</th><th class="l">Role</th><th>Organizations</th><th class="l">Indicator</th><th>p95</th><th>Peak</th><th>Trend /30 days</th></tr>
{{range $g := .Servers}}{{range $i, $s := .Stats}}<tr><td>{{if not $i}}{{$g.Name}}{{end}}</td><td class="l">{{if not $i}}{{$g.Role}}{{end}}</td><td>{{if not $i}}{{$g.Organizations}}{{end}}</td><td class="l">{{$s.Name}}</td><td>{{v $s.P95 $s.Unit}}</td><td>{{v $s.Peak $s.Unit}}</td><td>{{pct $s.TrendPct}}</td></tr>{{end}}{{end}}</table>

<h2>Organizations</h2>
<table><tr><th>#</th><th class="l">Organization</th><th>Requests</th><th>Share</th><th>Peak /hour</th><th>Peak users</th><th>Errors</th><th>Growth</th><th>Growth rank</th><th class="l">Servers</th><th class="l">Daily requests</th></tr>
{{range .Organizations}}<tr><td>{{.RankLoad}}</td><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td>{{f1 .LoadSharePc}} %</td><td>{{v .PeakRate ""}}</td><td>{{.PeakUsers}}</td><td>{{f1 .ErrorsPct}} %</td><td{{if ge .Growth 1.5}} class="warn"{{end}}>×{{f1 .Growth}}</td><td>{{.RankGrowth}}</td><td class="l">{{range .Servers}}{{.}} {{end}}</td><td class="l">{{sparkline .DailyLoad}}</td></tr>{{end}}</table>
</body></html>
`
