package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/tracing/query"
	"crmwatch/tracing/tail"
	"crmwatch/tracing/tail/live"
)

// newTraceTailCmd is `crmwatch trace tail DIR|FILE [-f] [filters]`.
func newTraceTailCmd() *cobra.Command {
	var f query.Filter
	var o live.Options
	cmd := &cobra.Command{
		Use:   "tail DIR|FILE",
		Short: "Print trace records as they are written (-f), across roll-over and renames, with grep's filters",
		Long: "Without -f every record already in the folder's trace files is printed and the command exits.\n" +
			"With -f it starts at the end of the existing files and prints each record once it is complete\n" +
			"(the next record started, or the file was idle for --idle), following new files, size roll-over\n" +
			"(-1.log to -2.log), renames and deletions, until interrupted. No checkpoint is kept.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			loc, err := traceZone(cmd)
			if err != nil {
				return err
			}
			if o.Filter, err = f.Compile(time.Now().In(loc), loc); err != nil {
				return err
			}
			o.Path, o.Location, o.Out = args[0], loc, cmd.OutOrStdout()
			res, err := live.Run(cmd.Context(), o)
			if err != nil {
				return err // it names the path (trace tail PATH: …); a prefix here would say "trace tail" twice
			}
			if res.Malformed > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s kept with their record or skipped\n", count(res.Malformed, "malformed line"))
			}
			return nil
		},
	}
	f.BindFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new records until interrupted")
	fl.StringVar(&o.Pattern, "pattern", tail.DefaultPattern, "file-name glob inside DIR")
	fl.BoolVar(&o.JSON, "json", false, "one JSON object per record instead of the trace text")
	fl.DurationVar(&o.IdleFlush, "idle", live.DefaultIdleFlush, "with -f, print a file's last record once the file was idle this long")
	return cmd
}

// traceZone reads `crmwatch trace --tz` (UTC when the command runs alone).
func traceZone(cmd *cobra.Command) (*time.Location, error) {
	tz := "UTC"
	if fl := cmd.Flag("tz"); fl != nil {
		tz = fl.Value.String()
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("--tz %q: %w", tz, err)
	}
	return loc, nil
}
