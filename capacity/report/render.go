package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatHTML = "html"
)

// Write renders r in format (json, csv or html).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatJSON, "":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatCSV:
		return writeCSV(w, r)
	case FormatHTML:
		return writeHTML(w, r)
	}
	return fmt.Errorf("report format %q: want html, csv or json", format)
}

// writeCSV writes one table for spreadsheets: a row per statistic (farm,
// role, server), per forecast and per organization, with a section column.
func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	day := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format("2006-01-02")
	}
	rows := [][]string{{"section", "scope", "role", "indicator", "unit", "avg", "p95", "peak", "peak_at", "trend_pct_per_30d",
		"method", "threshold", "days_to_threshold", "crosses_at", "requests", "errors", "peak_users", "growth", "rank_load", "rank_growth"}}
	stats := func(section, scope, role string, ss []Stat) {
		for _, s := range ss {
			rows = append(rows, []string{section, scope, role, s.Indicator, s.Unit, f(s.Avg), f(s.P95), f(s.Peak), s.PeakAt.Format(time.RFC3339), f(s.TrendPct),
				"", "", "", "", "", "", "", "", "", ""})
		}
	}
	stats("farm", "farm", "", r.Farm)
	for _, g := range r.Roles {
		stats("role", g.Name, g.Name, g.Stats)
	}
	for _, g := range r.Servers {
		stats("server", g.Name, g.Role, g.Stats)
	}
	for _, fc := range r.Forecasts {
		rows = append(rows, []string{"forecast", fc.Host, fc.Role, fc.Indicator, fc.Unit, "", "", "", "", "",
			fc.Method, opt(fc.Threshold), opt(fc.DaysToThreshold), day(fc.CrossesAt), "", "", "", "", "", ""})
	}
	for _, o := range r.Organizations {
		rows = append(rows, []string{"organization", o.Name, "", "requests", "requests", "", "", f(o.PeakRate), "", "",
			"", "", "", "", strconv.FormatUint(o.Requests, 10), strconv.FormatUint(o.Errors, 10), strconv.Itoa(o.PeakUsers), f(o.Growth),
			strconv.Itoa(o.RankLoad), strconv.Itoa(o.RankGrowth)})
	}
	t := r.Tier
	rows = append(rows, []string{"tier", t.Current, t.ScaleFirst, "users", "users", "", "", strconv.Itoa(t.Users), "", "",
		t.NextMethod, strconv.Itoa(t.Limits.Users), opt(t.NextInDays), day(t.NextAt), "", "", strconv.Itoa(t.ConcurrentUsers), "", "", ""})
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
