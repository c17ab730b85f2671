package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/simulate"

	"crmwatch/event"
)

// newSimulateCmd is `crmwatch simulate`: a realistic, deterministic CRM
// farm writing platform trace files for the demo, tests and benchmarks.
func newSimulateCmd() *cobra.Command {
	var (
		opts     simulate.Options
		duration time.Duration
		records  int
		backfill string
		sf       storeFlags
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Write realistic Dynamics CRM trace files of a simulated multi-tenant farm",
		Long: "simulate writes what a hosted, multi-tenant Dynamics CRM farm writes: platform trace files of\n" +
			"every server role in the real format (header block, record heads, call stacks, > messages,\n" +
			"MSCRM Error Reports), named {HOST}-{process}({pid}#{id})-{application}-{yyyyMMdd}-{seq}.log under\n" +
			"<out>/<host>/Trace/, rolled over at --file-size and at the date change.\n\n" +
			"It runs until Ctrl-C or --duration, or writes --records records per host and exits.\n" +
			"The same --seed (and --start) gives byte-identical files.\n\n" +
			"With --backfill 90d it writes no trace files: it writes 90 days of capacity history of the same\n" +
			"farm (counters every 5 minutes with daily and weekly cycles and growth, the hourly load of each\n" +
			"organization with one growing fast, an incident) straight into the store of --data, for\n" +
			"`crmwatch report capacity`.\n\n" +
			"Faults (--fault NAME, repeatable):\n" + faultHelp(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if backfill != "" {
				span, err := parseSpan("--backfill", backfill)
				if err != nil {
					return err
				}
				return runBackfill(cmd, &sf, opts, span)
			}
			return runSimulate(cmd.Context(), cmd.OutOrStdout(), opts, duration, records)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "crmfarm", "root folder; each host writes under <out>/<host>/Trace/")
	f.IntVar(&opts.Hosts, "hosts", simulate.DefaultHosts, "number of CRM servers (roles rotate: front end, back end, deployment)")
	f.IntVar(&opts.Orgs, "orgs", simulate.DefaultOrgs, "number of tenant organizations")
	f.Float64Var(&opts.Rate, "rate", simulate.DefaultRate, "trace records per second per host")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed; same seed and start give the same files")
	f.StringArrayVar(&opts.Faults, "fault", nil, "fault active from the start (repeatable): "+strings.Join(simulate.FaultNames(), ", "))
	f.Int64Var(&opts.FileSizeLimit, "file-size", simulate.DefaultFileSizeLimit, "trace file roll-over size in bytes (CRM TraceFileSizeLimit)")
	f.Float64Var(&opts.Speed, "speed", simulate.DefaultSpeed, "simulated seconds per real second (above 1 the clock runs fast)")
	f.StringVar(&opts.Categories, "categories", simulate.DefaultCategories, "TraceCategories written and applied, e.g. *:Error or Platform.Sql:Verbose;Platform.*:Warning")
	f.BoolVar(&opts.CallStack, "callstack", false, "write call-stack lines (TraceCallStack, header CallStackOn: True)")
	f.StringVar(&opts.SettingsDir, "settings-dir", "", "each host obeys <dir>/<host>/trace-settings.json as CRM obeys its registry trace values (an agent's --state layout)")
	f.BoolVar(&opts.LF, "lf", false, `end lines with "\n" instead of the servers' "\r\n"`)
	f.DurationVar(&duration, "duration", 0, "stop after this much real time (0: until Ctrl-C)")
	f.IntVar(&records, "records", 0, "write this many records per host as fast as possible and exit")
	f.StringVar(&backfill, "backfill", "", "write this much capacity history (e.g. 90d) into the store of --data instead of trace files")
	sf.register(f)
	startFlag := f.String("start", "", "simulated start time, RFC 3339 (default: now)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if *startFlag != "" {
			t, err := time.Parse(time.RFC3339, *startFlag)
			if err != nil {
				return fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-01-31T23:59:00Z: %w", *startFlag, err)
			}
			opts.Start = t
		}
		if duration < 0 || records < 0 {
			return fmt.Errorf("--duration and --records must not be negative")
		}
		opts.Logger = newProcessLogger(cmd)
		return nil
	}
	return cmd
}

func faultHelp() string {
	var sb strings.Builder
	for _, fi := range simulate.Faults() {
		fmt.Fprintf(&sb, "  %-17s %s\n", fi.Name, fi.Description)
	}
	return sb.String()
}

func runSimulate(ctx context.Context, w io.Writer, opts simulate.Options, duration time.Duration, records int) error {
	farm, err := simulate.New(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "simulated CRM farm writing to %s\n", opts.Out)
	for _, h := range farm.Hosts() {
		fmt.Fprintf(w, "  %-11s CRM %-14s %s  %s\n", h.Name, h.CRMVersion, h.TraceDir, strings.Join(event.RoleStrings(h.Roles), ","))
	}
	start := time.Now()
	if records > 0 {
		err = farm.Generate(records)
		err = joinErr(err, farm.Close())
	} else {
		if duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, duration)
			defer cancel()
		}
		fmt.Fprintln(w, "running; Ctrl-C stops")
		err = farm.Run(ctx)
	}
	printSimSummary(w, farm, time.Since(start))
	return err
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func printSimSummary(w io.Writer, farm *simulate.Farm, took time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "host\tfiles\trecords\tbytes\t")
	var files int
	var recs, bytes int64
	for _, s := range farm.Stats() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s.Host, s.Trace.Files, s.Trace.Records, s.Trace.Bytes)
		files += s.Trace.Files
		recs += s.Trace.Records
		bytes += s.Trace.Bytes
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\n", files, recs, bytes)
	tw.Flush()
	fmt.Fprintf(w, "simulated clock at %s after %s\n", farm.Now().Format(time.RFC3339), took.Round(time.Millisecond))
}
