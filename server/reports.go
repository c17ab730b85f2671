package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/capacity/rollup"
	"crmwatch/notify/email"
)

// CapacityReportPath is the capacity report's route.
const CapacityReportPath = "/api/v1/reports/capacity"

// capacityRoute answers GET /api/v1/reports/capacity?since=30d&format=json|csv|html
// for any operator.
func capacityRoute(src report.Source) api.Route {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since := report.DefaultSince
		if s := q.Get("since"); s != "" {
			d, err := report.ParseSince(s)
			if err != nil {
				writeJSONError(w, http.StatusBadRequest, err.Error())
				return
			}
			since = d
		}
		format := q.Get("format")
		if format == "" {
			format = report.FormatJSON
		}
		if format != report.FormatJSON && format != report.FormatCSV && format != report.FormatHTML {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json, csv or html", format))
			return
		}
		rep, err := report.Build(r.Context(), src, report.Options{Since: since})
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "build the capacity report: "+err.Error())
			return
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, rep, format); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", report.ContentType(format))
		_, _ = w.Write(buf.Bytes())
	})
	return api.Route{Method: "GET", Pattern: CapacityReportPath, Permission: access.PermRead, Handler: h}
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// CapacityReports schedules capacity reports written to a folder, mailed,
// or both.
type CapacityReports struct {
	// Dir receives capacity-YYYYMMDD-HHMM.{html,json,csv}; empty: the
	// reports are only mailed (no Mail either: no scheduled reports).
	Dir string `yaml:"dir"`
	// Mail names e-mail receivers of the notify section: each mails every
	// report, its formats attached, to its recipients.
	Mail []string `yaml:"mail"`
	// Every is the interval (default 24h); the first report is written
	// one interval after the start.
	Every time.Duration `yaml:"every"`
	// Since is each report's window (default 30 days).
	Since time.Duration `yaml:"since"`
	// Formats are written each time (default html and json).
	Formats []string `yaml:"formats"`
}

// On reports whether reports are scheduled at all.
func (c CapacityReports) On() bool { return c.Dir != "" || len(c.Mail) > 0 }

// validate reports every problem at once; receivers is the notify
// section's receivers by name with their kind.
func (c CapacityReports) validate(receivers map[string]string) error {
	var errs []error
	for _, f := range c.Formats {
		if f != report.FormatHTML && f != report.FormatJSON && f != report.FormatCSV {
			errs = append(errs, fmt.Errorf("capacity report format %q: want html, json or csv", f))
		}
	}
	if c.Every < 0 || c.Since < 0 {
		errs = append(errs, errors.New("capacity report every and since: must not be negative"))
	}
	for _, name := range c.Mail {
		switch kind, ok := receivers[name]; {
		case !ok:
			errs = append(errs, fmt.Errorf("capacity report mail %q: no such receiver in notify.receivers; add one with an email: section", name))
		case kind != "email":
			errs = append(errs, fmt.Errorf("capacity report mail %q: that receiver is a %s receiver; name an email one", name, kind))
		}
	}
	return errors.Join(errs...)
}

// documentMailer is what mails a report: an e-mail receiver.
type documentMailer interface {
	SendDocument(ctx context.Context, subject, text string, files []email.Attachment, now time.Time) (bool, error)
}

func (c CapacityReports) withDefaults() CapacityReports {
	if c.Every <= 0 {
		c.Every = 24 * time.Hour
	}
	if c.Since <= 0 {
		c.Since = report.DefaultSince
	}
	if len(c.Formats) == 0 {
		c.Formats = []string{report.FormatHTML, report.FormatJSON}
	}
	return c
}

// runCapacityReports writes the scheduled reports while this server holds
// the rollup lease, so several servers write each report once.
func (s *Server) runCapacityReports(ctx context.Context, src report.Source, rollups *rollup.Consumer, n *notifier) error {
	c := s.o.CapacityReports.withDefaults()
	if !c.On() {
		<-ctx.Done() // an actor of the run group: returning would stop the server
		return nil
	}
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if !rollups.Active() {
				continue
			}
			s.capacityReport(ctx, src, c, n, now)
		}
	}
}

// capacityReport builds one report, writes it to the folder and mails it;
// a failure of one does not stop the other, and each is logged.
func (s *Server) capacityReport(ctx context.Context, src report.Source, c CapacityReports, n *notifier, now time.Time) {
	files, rep, err := renderCapacityReport(ctx, src, c, now)
	if err != nil {
		s.log.Warn("scheduled capacity report not built", "err", err)
		return
	}
	if c.Dir != "" {
		if err := writeReportFiles(c.Dir, files); err != nil {
			s.log.Warn("scheduled capacity report not written", "dir", c.Dir, "err", err)
		} else {
			s.log.Info("capacity report written", "dir", c.Dir)
		}
	}
	for _, name := range c.Mail {
		m, ok := n.receivers[name].(documentMailer)
		if !ok { // checked at start; a receiver that cannot mail is a bug
			s.log.Error("capacity report: receiver cannot mail documents", "receiver", name)
			continue
		}
		if err := mailReport(ctx, m, rep, files, now); err != nil {
			s.log.Warn("scheduled capacity report not mailed", "receiver", name, "err", err)
		} else {
			s.log.Info("capacity report mailed", "receiver", name)
		}
	}
}

// renderCapacityReport builds the report and renders it in every format.
func renderCapacityReport(ctx context.Context, src report.Source, c CapacityReports, now time.Time) ([]email.Attachment, *report.Report, error) {
	rep, err := report.Build(ctx, src, report.Options{Since: c.Since, Now: now})
	if err != nil {
		return nil, nil, err
	}
	var files []email.Attachment
	for _, f := range c.Formats {
		var buf bytes.Buffer
		if err := report.Write(&buf, rep, f); err != nil {
			return nil, nil, err
		}
		files = append(files, email.Attachment{Name: "capacity-" + now.UTC().Format("20060102-1504") + "." + f,
			ContentType: report.ContentType(f), Data: buf.Bytes()})
	}
	return files, rep, nil
}

// writeReportFiles writes each file whole, then renames it into place.
func writeReportFiles(dir string, files []email.Attachment) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create the report folder: %w", err)
	}
	for _, f := range files {
		name := filepath.Join(dir, f.Name)
		if err := os.WriteFile(name+".tmp", f.Data, 0o640); err != nil {
			return err
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			return err
		}
	}
	return nil
}

// mailAttempts and mailBackoff bound the retries of one report's mail: an
// SMTP server that is down for minutes gets the next report instead.
var (
	mailAttempts = 4
	mailBackoff  = 30 * time.Second
)

// mailReport mails the report with a summary in the text, retrying what
// may pass.
func mailReport(ctx context.Context, m documentMailer, rep *report.Report, files []email.Attachment, now time.Time) error {
	subject, text := reportSummary(rep)
	backoff := mailBackoff
	for attempt := 1; ; attempt++ {
		retry, err := m.SendDocument(ctx, subject, text, files, now)
		if err == nil || !retry || attempt == mailAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// reportSummary is the mail's subject and text: the tier, its headroom,
// when the next tier is needed, and the forecasts that cross their
// threshold within 90 days; the figures behind them are attached.
func reportSummary(rep *report.Report) (string, string) {
	day := rep.To.UTC().Format("2006-01-02")
	var b strings.Builder
	fmt.Fprintf(&b, "crmwatch capacity report, %s to %s (UTC).\n\n", rep.From.UTC().Format("2006-01-02 15:04"), rep.To.UTC().Format("2006-01-02 15:04"))
	t := rep.Tier
	fmt.Fprintf(&b, "Tier: %s — %d users (%.0f %% headroom), %d organizations (%.0f %% headroom).\n",
		t.Current, t.Users, t.UsersHeadroomPct, t.Organizations, t.OrgsHeadroomPct)
	if t.Next != "" && t.NextInDays != nil {
		fmt.Fprintf(&b, "Next tier: %s in about %.0f days.\n", t.Next, *t.NextInDays)
	}
	if t.ScaleFirst != "" {
		fmt.Fprintf(&b, "Scale first: %s. %s\n", t.ScaleFirst, t.ScaleFirstWhy)
	}
	soon := 0
	for _, f := range rep.Forecasts {
		if d := f.DaysToThreshold; d != nil && *d <= 90 {
			if soon == 0 {
				b.WriteString("\nCrossing their thresholds within 90 days:\n")
			}
			soon++
			scope := f.Host
			if scope == "" {
				scope = f.Role
			}
			fmt.Fprintf(&b, "  %-12s %-40s in %.0f days (%s)\n", scope, f.Name, *d, f.Method)
		}
	}
	if soon == 0 {
		b.WriteString("\nNo forecast crosses its threshold within 90 days.\n")
	}
	b.WriteString("\nThe report is attached; open the .html file in a browser.\n")
	subject := fmt.Sprintf("[crmwatch] capacity report %s: tier %s", day, t.Current)
	if soon > 0 {
		subject += fmt.Sprintf(", %d forecasts cross within 90 days", soon)
	}
	return subject, b.String()
}
