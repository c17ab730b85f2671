package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"crmwatch/collectors/eventlog"
)

// newEventsCmd is `crmwatch events`: the offline tools for Windows
// event-log exports (EVTX files and rendered event XML).
func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read and summarise Windows event-log exports (EVTX files, wevtutil/Event Viewer XML)",
		Long: "FILES may be EVTX files (recognised by their header, whatever their name), files of\n" +
			"rendered event XML (wevtutil qe LOG /f:xml, Event Viewer's Save as XML; UTF-8 or UTF-16)\n" +
			"or directories (every *.evtx and *.xml inside, in name order).\n" +
			"A file that is missing, unreadable or neither format is named on standard error, the\n" +
			"other files are still read, and the exit status is 1.",
	}
	cmd.AddCommand(newEventsReadCmd(), newEventsStatsCmd())
	return cmd
}

func newEventsReadCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "read FILES...",
		Short: "Print the events of EVTX or event XML files (--json: one object per event)",
		Long: "Print the events in file order: time, host, level, provider and event id, message.\n" +
			"--json prints one JSON object per line with time, host, provider, event_id, qualifiers\n" +
			"(when the log has them), level, record_id, channel, message and data (the event's data\n" +
			"fields in order, each {name, value}; classic sources have no names).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			print := func(r eventlog.Record) error {
				if asJSON {
					return enc.Encode(r.View())
				}
				return printEvent(w, &r)
			}
			failed := 0
			var malformed, skipped int
			eachEventFile(cmd, args, &failed, func(path string) error {
				st, err := eventlog.ReadFile(path, print)
				malformed += st.Malformed
				skipped += st.SkippedRecords
				if st.CorruptChunks > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "crmwatch: events read: %s: %s skipped\n", path, count(st.CorruptChunks, "corrupt chunk"))
				}
				return err
			})
			if malformed+skipped > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "crmwatch: events read: %s and %s skipped\n",
					count(malformed, "malformed record"), count(skipped, "unreadable record"))
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per event")
	return cmd
}

func newEventsStatsCmd() *cobra.Command {
	var asJSON bool
	var top int
	cmd := &cobra.Command{
		Use:   "stats FILES...",
		Short: "Summarise EVTX or event XML files: levels, providers, hosts, channels, time span, most frequent events",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if top < 1 {
				return fmt.Errorf("--top %d: want 1 or more", top)
			}
			st := eventlog.NewStats()
			failed := 0
			eachEventFile(cmd, args, &failed, func(path string) error {
				fst, err := eventlog.ReadFile(path, func(r eventlog.Record) error { st.Add(&r); return nil })
				if err == nil || fst.Records > 0 {
					st.AddFile(fst)
				}
				return err
			})
			st.Finish(top)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if st.Files > 0 {
				if err := printEventStats(cmd.OutOrStdout(), st); err != nil {
					return err
				}
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the statistics as JSON")
	cmd.Flags().IntVar(&top, "top", 10, "length of the most-frequent-events list")
	return cmd
}

// eachEventFile expands args and calls read for each file; every problem
// (missing, unreadable, not an event file) is named on standard error with
// what to do, and counted in failed.
func eachEventFile(cmd *cobra.Command, args []string, failed *int, read func(path string) error) {
	say := func(err error) {
		*failed++
		fmt.Fprintf(cmd.ErrOrStderr(), "crmwatch: events %s: %v\n", cmd.Name(), err)
	}
	files, problems := eventlog.ExpandPaths(args)
	for _, p := range problems {
		switch {
		case errors.Is(p, fs.ErrNotExist):
			say(fmt.Errorf("%w (give EVTX or event XML files, or directories holding them)", p))
		case errors.Is(p, fs.ErrPermission):
			say(fmt.Errorf("%w (run as a user who may read it, e.g. an administrator for logs copied from C:\\Windows\\System32\\winevt\\Logs)", p))
		default:
			say(p)
		}
	}
	for _, f := range files {
		if err := read(f); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				err = fmt.Errorf("%w (run as a user who may read it)", err)
			}
			say(err)
		}
	}
}

// printEvent writes one event as a line: time, host, level, provider/id,
// and the message's lines joined by " | ".
func printEvent(w io.Writer, r *eventlog.Record) error {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(r.Text(), "\n", " | ")), " ")
	_, err := fmt.Fprintf(w, "%s  %s  %-7s  %s %d  %s\n", r.Time.Format(rfc3339Milli), r.Computer,
		eventlog.EventLevel(r.Level), r.Provider, r.EventID, msg)
	return err
}

func printEventStats(w io.Writer, st *eventlog.Stats) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "files\t%d\nrecords\t%d\nmalformed records\t%d\ncorrupt chunks\t%d\nskipped records\t%d\n",
		st.Files, st.Records, st.Malformed, st.CorruptChunks, st.SkippedRecords)
	if !st.First.IsZero() {
		fmt.Fprintf(tw, "first\t%s\nlast\t%s\n", st.First.Format(rfc3339Milli), st.Last.Format(rfc3339Milli))
	}
	for _, sec := range []struct {
		name string
		m    map[string]int64
	}{{"level", st.ByLevel}, {"provider", st.ByProvider}, {"host", st.ByHost}, {"channel", st.ByChannel}} {
		fmt.Fprintf(tw, "\nby %s\n", sec.name)
		for _, k := range sortedByCount(sec.m) {
			fmt.Fprintf(tw, "  %s\t%d\n", cmpOr(k, "(none)"), sec.m[k])
		}
	}
	fmt.Fprintf(tw, "\ntop events\n")
	for _, e := range st.TopEvents {
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\n", e.Count, e.Provider, e.EventID, e.Level, e.Message)
	}
	return tw.Flush()
}
