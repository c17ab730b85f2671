package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/capacity/report"
	"crmwatch/capacity/rollup"
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

// CapacityReports schedules capacity reports written to a folder.
type CapacityReports struct {
	// Dir receives capacity-YYYYMMDD-HHMM.{html,json,csv}; empty: no
	// scheduled reports.
	Dir string
	// Every is the interval (default 24h); the first report is written
	// one interval after the start.
	Every time.Duration
	// Since is each report's window (default 30 days).
	Since time.Duration
	// Formats are written each time (default html and json).
	Formats []string
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
func (s *Server) runCapacityReports(ctx context.Context, src report.Source, rollups *rollup.Consumer) error {
	c := s.o.CapacityReports.withDefaults()
	if c.Dir == "" {
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
			if err := writeCapacityReports(ctx, src, c, now); err != nil {
				s.log.Warn("scheduled capacity report not written", "dir", c.Dir, "err", err)
			} else {
				s.log.Info("capacity report written", "dir", c.Dir)
			}
		}
	}
}

// writeCapacityReports builds one report and writes it in every format
// (each file written whole, then renamed into place).
func writeCapacityReports(ctx context.Context, src report.Source, c CapacityReports, now time.Time) error {
	rep, err := report.Build(ctx, src, report.Options{Since: c.Since, Now: now})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o750); err != nil {
		return fmt.Errorf("create the report folder: %w", err)
	}
	for _, f := range c.Formats {
		var buf bytes.Buffer
		if err := report.Write(&buf, rep, f); err != nil {
			return err
		}
		name := filepath.Join(c.Dir, "capacity-"+now.UTC().Format("20060102-1504")+"."+f)
		if err := os.WriteFile(name+".tmp", buf.Bytes(), 0o640); err != nil {
			return err
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			return err
		}
	}
	return nil
}
