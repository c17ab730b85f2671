package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/capacity/backfill"
	"crmwatch/simulate"
)

// parseSpan is time.ParseDuration plus whole days ("90d"), positive.
func parseSpan(flag, s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 90d, 30d or 36h", flag, s)
	}
	return d, nil
}

// runBackfill writes span of capacity history of the farm opts describes
// into the store at sf, printing progress.
func runBackfill(cmd *cobra.Command, sf *storeFlags, opts simulate.Options, span time.Duration) error {
	st, err := sf.open(cmd, true)
	if err != nil {
		return err
	}
	defer st.Close()
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "back-filling %s of capacity history into %s\n", fmtDays(span), storeName(sf))
	res, err := backfill.Run(cmd.Context(), st, backfill.Options{Span: span, Hosts: opts.Hosts, Orgs: opts.Orgs, Seed: opts.Seed,
		Progress: progressPrinter(cmd.ErrOrStderr())})
	if err != nil {
		return err
	}
	printBackfill(w, res)
	return nil
}

func storeName(sf *storeFlags) string {
	if !sf.dsn.IsZero() {
		return sf.dsn.String()
	}
	return sf.data
}

// progressPrinter reports every tenth of the days (and the last).
func progressPrinter(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if step := max(1, total/10); done%step == 0 || done == total {
			fmt.Fprintf(w, "  day %d of %d\n", done, total)
		}
	}
}

func printBackfill(w io.Writer, res backfill.Result) {
	fmt.Fprintf(w, "wrote %d samples of %d series (%d servers) and the hourly load of %d organizations, %s to %s\n",
		res.Samples, res.Series, res.Hosts, res.Orgs, res.From.Format("2006-01-02 15:04"), res.To.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "  load grows every day; %s grows fastest; incident %q on %s for 3 hours\n",
		res.FastOrg, res.Incident, res.IncidentStart.Format("2006-01-02 15:04"))
}

func fmtDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
