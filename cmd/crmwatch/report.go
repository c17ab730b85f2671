package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	capreport "crmwatch/capacity/report"
)

// newReportCmd is `crmwatch report capacity`.
func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports over the history crmwatch keeps (capacity planning)"}
	cmd.AddCommand(newReportCapacityCmd())
	return cmd
}

func newReportCapacityCmd() *cobra.Command {
	var (
		conn          serverConn
		sf            storeFlags
		since, format string
		out           string
	)
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Capacity-planning report: peaks, p95, trends, forecasts with days to threshold, organizations, tier advice",
		Long: "report capacity reads the rolled-up history of a running server (--url, the API's\n" +
			"GET /api/v1/reports/capacity) or of a data directory (--data DIR or --store DSN) and writes the\n" +
			"report as one self-contained HTML file, CSV for spreadsheets or JSON. See docs/capacity.md.\n\n" +
			"Try it without a farm: crmwatch simulate --backfill 90d --data DIR, then\n" +
			"crmwatch report capacity --data DIR --format html --out capacity.html",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := capreport.ParseSince(since)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			if format != capreport.FormatHTML && format != capreport.FormatCSV && format != capreport.FormatJSON {
				return fmt.Errorf("--format %q: want html, csv or json", format)
			}
			local := cmd.Flags().Changed("data") || cmd.Flags().Changed("store")
			if local && (cmd.Flags().Changed("url") || cmd.Flags().Changed("token")) {
				return errors.New("give either --url (a running server) or --data/--store (a data directory), not both")
			}
			var rep *capreport.Report
			if local {
				st, err := sf.open(cmd, false)
				if err != nil {
					return err
				}
				defer st.Close()
				if rep, err = capreport.Build(cmd.Context(), st, capreport.Options{Since: d}); err != nil {
					return err
				}
			} else {
				c, err := conn.client(cmd)
				if err != nil {
					return err
				}
				if rep, err = c.CapacityReport(cmd.Context(), since); err != nil {
					return err
				}
			}
			var buf bytes.Buffer
			if err := capreport.Write(&buf, rep, format); err != nil {
				return err
			}
			return writeOut(cmd.OutOrStdout(), out, buf.Bytes())
		},
	}
	f := cmd.Flags()
	conn.register(f)
	sf.register(f)
	f.StringVar(&since, "since", "30d", "window of history: 30d, 90d, 36h…")
	f.StringVar(&format, "format", "html", "html, csv or json")
	f.StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// writeOut writes data to path (whole, then renamed into place) or to w.
func writeOut(w io.Writer, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := w.Write(data)
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("--out %s: the folder %s does not exist", path, dir)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	fmt.Fprintf(w, "wrote %s (%d bytes)\n", path, len(data))
	return nil
}
