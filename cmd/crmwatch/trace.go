package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/tracing"
	"crmwatch/tracing/otlp"
	"crmwatch/tracing/query"
)

// progressThreshold: inputs smaller than this finish before a progress
// line would help.
const progressThreshold = 32 << 20

// rfc3339Milli prints trace times with their zone offset (Z for UTC).
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// newTraceCmd is `crmwatch trace`: the offline trace toolchain (parse,
// grep, stats, export) plus the live `tail` from trace_tail.go.
func newTraceCmd() *cobra.Command {
	var tz string
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Read, search, summarise and export Dynamics CRM platform trace files; turn tracing on and off remotely (set, clear, status)",
		Long: "FILES may be trace files, directories (every *.log inside, in name order) or - for stdin.\n" +
			"Trace timestamps carry no zone; --tz names the zone they were written in (default UTC).",
	}
	cmd.PersistentFlags().StringVar(&tz, "tz", "UTC", "zone the trace timestamps were written in (IANA name or Local)")
	loc := func() (*time.Location, error) {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("--tz %q: %w", tz, err)
		}
		return l, nil
	}
	cmd.AddCommand(newTraceParseCmd(loc), newTraceGrepCmd(loc), newTraceStatsCmd(loc), newTraceExportCmd(loc),
		newTraceTailCmd())
	// Remote trace control (trace_control.go) talks to a running server.
	cmd.AddCommand(newTraceSetCmd(), newTraceClearCmd(), newTraceStatusCmd())
	return cmd
}

type locFunc func() (*time.Location, error)

func newTraceParseCmd(loc locFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "parse FILES...",
		Short: "Print every record as one JSON object per line (all fields)",
		Long: "Print every record as one JSON object per line (all fields). An input that is not a CRM\n" +
			"trace file (no record head in its first lines) is named on standard error and the exit\n" +
			"status is 1; the other inputs are still printed.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loc()
			if err != nil {
				return err
			}
			res, err := runScan(cmd, args, l, nil, true)
			if err != nil {
				return err
			}
			return rejectedError(cmd, res.Rejected, 1)
		},
	}
}

func newTraceGrepCmd(loc locFunc) *cobra.Command {
	var f query.Filter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "grep FILES...",
		Short: "Print the records that match every filter, in the trace's own text (or --json)",
		Long: "Print the records that match every filter. Like grep, the exit status is 0 when a record\n" +
			"matched, 1 when none did, and 2 on an error (including an input that is not a CRM trace\n" +
			"file, which is named on standard error while the other inputs are still searched).",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.MinimumNArgs(1)(cmd, args); err != nil {
				return exitError{code: 2, err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loc()
			if err != nil {
				return exitError{code: 2, err: err}
			}
			m, err := f.Compile(time.Now().In(l), l)
			if err != nil {
				return exitError{code: 2, err: err}
			}
			res, err := runScan(cmd, args, l, m, asJSON)
			switch {
			case err != nil:
				return exitError{code: 2, err: err}
			case len(res.Rejected) > 0:
				return rejectedError(cmd, res.Rejected, 2)
			case res.Matched == 0:
				return exitError{code: 1} // nothing matched: silent, like grep
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitError{code: 2, err: err} })
	f.BindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per record instead of the trace text")
	return cmd
}

func runScan(cmd *cobra.Command, args []string, l *time.Location, m *query.Matcher, asJSON bool) (query.ScanResult, error) {
	ins, prog, err := openInputs(cmd, args)
	if err != nil {
		return query.ScanResult{}, err
	}
	res, err := query.Scan(cmd.Context(), ins, cmd.OutOrStdout(), query.ScanOptions{Filter: m, JSON: asJSON,
		Location: l, Stdin: cmd.InOrStdin(), Progress: prog.Counter()})
	prog.Stop()
	if err != nil {
		return res, fmt.Errorf("trace: %w", err)
	}
	if res.Malformed > 0 && len(res.Rejected) < len(ins) {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s skipped or kept with their record (see the malformed field of trace parse)\n",
			count(res.Malformed, "malformed line"))
	}
	return res, nil
}

// rejectedError names every input that is not a CRM trace file on standard
// error and ends the command with code; nil when there is none.
func rejectedError(cmd *cobra.Command, rs []query.Rejected, code int) error {
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		fmt.Fprintf(cmd.ErrOrStderr(), "crmwatch: trace %s: %s: %s\n", cmd.Name(), r.File, r.Reason)
	}
	return exitError{code: code}
}

// openInputs expands FILES (files, directories, -) and starts the progress
// display for them; the caller stops it when done.
func openInputs(cmd *cobra.Command, args []string) ([]query.Input, *query.Progress, error) {
	ins, err := query.ExpandInputs(args)
	if err != nil {
		return nil, nil, err
	}
	return ins, startProgress(cmd, ins), nil
}

// startProgress shows progress on stderr for large inputs when stderr is a
// terminal; it returns nil (a no-op) otherwise.
func startProgress(cmd *cobra.Command, ins []query.Input) *query.Progress {
	total := query.TotalSize(ins)
	f, ok := cmd.ErrOrStderr().(*os.File)
	if !ok || !query.IsTerminal(f) || total < progressThreshold {
		return nil
	}
	return query.StartProgress(f, total, 500*time.Millisecond)
}

func newTraceStatsCmd(loc locFunc) *cobra.Command {
	var asJSON bool
	var opts query.StatsOptions
	cmd := &cobra.Command{
		Use:   "stats FILES...",
		Short: "Summarise trace files: levels, categories, organizations, requests, slowest requests, top errors",
		Long: "Summarise trace files. An input that is not a CRM trace file (no record head in its first\n" +
			"lines) is named on standard error, left out of the summary, and the exit status is 1.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loc()
			if err != nil {
				return err
			}
			ins, prog, err := openInputs(cmd, args)
			if err != nil {
				return err
			}
			opts.Location, opts.Stdin, opts.Progress = l, cmd.InOrStdin(), prog.Counter()
			st, err := query.Compute(cmd.Context(), ins, opts)
			prog.Stop()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if st.Files > 0 {
				if err := printStats(cmd.OutOrStdout(), st); err != nil {
					return err
				}
			}
			return rejectedError(cmd, st.Rejected, 1)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the statistics as JSON")
	cmd.Flags().IntVar(&opts.Top, "top", query.DefaultTop, "length of the slowest-requests and top-errors lists")
	cmd.Flags().IntVar(&opts.MaxRequestDetail, "max-request-detail", query.DefaultMaxRequestDetail,
		"requests whose first/last times are kept (all are counted)")
	return cmd
}

func printStats(w io.Writer, st *query.Stats) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "files\t%d\nbytes\t%d\nrecords\t%d\nmalformed lines\t%d\ntruncated records\t%d\n",
		st.Files, st.Bytes, st.Records, st.Malformed, st.Truncated)
	fmt.Fprintf(tw, "requests\t%d\n", st.Requests)
	if !st.First.IsZero() { // in the --tz zone, with its offset
		fmt.Fprintf(tw, "first\t%s\nlast\t%s\n", st.First.Format(rfc3339Milli), st.Last.Format(rfc3339Milli))
	}
	for _, sec := range []struct {
		name string
		m    map[string]int64
	}{{"level", st.ByLevel}, {"category", st.ByCategory}, {"organization", st.ByOrganization}, {"process", st.ByProcess}} {
		fmt.Fprintf(tw, "\nby %s\n", sec.name)
		for _, k := range sortedByCount(sec.m) {
			fmt.Fprintf(tw, "  %s\t%d\n", cmpOr(k, "(none)"), sec.m[k])
		}
	}
	fmt.Fprintf(tw, "\nslowest requests\n")
	for _, r := range st.SlowestRequests {
		fmt.Fprintf(tw, "  %s\t%.0f ms\t%s\t%s\n", r.ReqID, r.DurationMS, count(r.Records, "record"), count(r.Errors, "error"))
	}
	fmt.Fprintf(tw, "\ntop errors\n")
	for _, e := range st.TopErrors {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", e.Count, e.Category, e.Operation, e.Message)
	}
	return tw.Flush()
}

func sortedByCount(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newTraceExportCmd(loc locFunc) *cobra.Command {
	var (
		opts    otlp.Options
		headers []string
		f       query.Filter
		retries int
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "export FILES... --otlp URL",
		Short: "Send records as OpenTelemetry logs, and requests as spans, to an OTLP/HTTP receiver",
		Long: "Send records as OpenTelemetry logs, and requests as spans, to an OTLP/HTTP receiver.\n" +
			"A request the receiver does not answer is retried --retries times (0.5 s, then 1 s, … apart),\n" +
			"each retry shown on standard error; then the export stops with exit status 1. An input that\n" +
			"is not a CRM trace file is named on standard error and skipped (exit status 1).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := loc()
			if err != nil {
				return err
			}
			var errs []error
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok || k == "" {
					errs = append(errs, fmt.Errorf("--header %q: want NAME=VALUE", k))
					continue
				}
				opts.Headers = append(opts.Headers, otlp.Header{Name: k, Value: otlp.Secret(v)})
			}
			if retries < 0 {
				errs = append(errs, fmt.Errorf("--retries %d: want 0 or more", retries))
			}
			if timeout <= 0 {
				errs = append(errs, fmt.Errorf("--timeout %v: want a positive duration such as 10s", timeout))
			}
			m, err := f.Compile(time.Now().In(l), l)
			errs = append(errs, err)
			if err := errors.Join(errs...); err != nil {
				return err
			}
			opts.MaxRetries, opts.Client = retries, &http.Client{Timeout: timeout}
			if retries == 0 {
				opts.MaxRetries = -1 // otlp reads 0 as its default
			}
			stderr := cmd.ErrOrStderr()
			opts.OnRetry = func(r otlp.Retry) {
				fmt.Fprintf(stderr, "trace export: POST %s: %v; retry %d of %d in %s\n", r.URL, r.Err, r.Attempt, r.Max, r.Wait)
			}
			exp, err := otlp.New(opts)
			if err != nil {
				return fmt.Errorf("%w (set --otlp http://collector:4318)", err)
			}
			ins, prog, err := openInputs(cmd, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "trace export: sending %s to %s\n", count(len(ins), "input"), opts.Endpoint)
			rejected, err := exportInputs(cmd.Context(), cmd.InOrStdin(), exp, ins, m, l, prog)
			prog.Stop()
			c := exp.Counts()
			if err != nil {
				return fmt.Errorf("trace export: %w; %s were exported before that", err, count(c.Logs, "log record"))
			}
			fmt.Fprintf(stderr, "exported %s and %s in %s to %s\n",
				count(c.Logs, "log record"), count(c.Spans, "request span"), count(c.Requests, "request"), opts.Endpoint)
			if c.RejectedLogs+c.RejectedSpans > 0 {
				return fmt.Errorf("the receiver rejected %s and %s", count(c.RejectedLogs, "log record"), count(c.RejectedSpans, "span"))
			}
			return rejectedError(cmd, rejected, 1)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Endpoint, "otlp", "", "OTLP/HTTP base URL, e.g. http://collector:4318 (required)")
	fl.StringArrayVar(&headers, "header", nil, "HTTP header NAME=VALUE sent with every request (repeatable; never printed)")
	fl.BoolVar(&opts.Gzip, "gzip", false, "gzip request bodies")
	fl.IntVar(&opts.BatchSize, "batch", 512, "log records per request")
	fl.IntVar(&retries, "retries", otlp.DefaultMaxRetries, "retries of a request the receiver does not answer or refuses for now (0: none)")
	fl.DurationVar(&timeout, "timeout", otlp.DefaultTimeout, "time limit of one request")
	fl.BoolVar(&opts.ServiceFromProcess, "service-from-process", false, "use the record's process (w3wp, CrmAsyncService) as service.name instead of crmwatch")
	f.BindFlags(fl)
	_ = cmd.MarkFlagRequired("otlp")
	return cmd
}

// exportInputs streams every matching record into exp and closes it. Inputs
// that are not trace files are skipped and returned.
func exportInputs(ctx context.Context, stdin io.Reader, exp *otlp.Exporter, ins []query.Input, m *query.Matcher,
	loc *time.Location, prog *query.Progress) ([]query.Rejected, error) {
	var rejected []query.Rejected
	for _, in := range ins {
		err := exportOne(ctx, stdin, exp, in, m, loc, prog)
		var nt *tracing.NotTraceError
		if errors.As(err, &nt) {
			rejected = append(rejected, query.Rejected{File: in.Name, Reason: nt.Error()})
			continue
		}
		if err != nil {
			return rejected, err
		}
	}
	return rejected, exp.Close(ctx)
}

func exportOne(ctx context.Context, stdin io.Reader, exp *otlp.Exporter, in query.Input, m *query.Matcher,
	loc *time.Location, prog *query.Progress) error {
	rc, err := in.Open(stdin)
	if err != nil {
		return err
	}
	defer rc.Close()
	rd := tracing.NewReaderOptions(rc, tracing.ReaderOptions{Location: loc, NoHeadWithin: query.NotTraceLines})
	host := tracing.ParseFileName(in.Name).Host
	var rec tracing.Record
	var reported int64
	for {
		err := rd.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		var nt *tracing.NotTraceError
		if errors.As(err, &nt) {
			return err
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", in.Name, err)
		}
		if c := prog.Counter(); c != nil {
			b := rd.Stats().Bytes
			c.Add(b - reported)
			reported = b
		}
		if !m.Match(&rec) {
			continue
		}
		hdr := rd.Header()
		if hdr.ComputerName == "" {
			hdr.ComputerName = host
		}
		if err := exp.Add(ctx, hdr, &rec); err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
	}
	return exp.Flush(ctx)
}
