package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/api/client"
	"crmwatch/tracing/settings"
)

// defaultTraceWait is how long set and clear wait for acknowledgements.
const defaultTraceWait = 30 * time.Second

// traceChangeResult is the --json output of set and clear.
type traceChangeResult struct {
	Change     settings.ChangeResponse `json:"change"`
	Agents     []client.TraceOutcome   `json:"agents"`
	AllApplied bool                    `json:"all_applied"`
}

// newTraceSetCmd is `crmwatch trace set`.
func newTraceSetCmd() *cobra.Command {
	conn := &serverConn{}
	var req settings.Request
	var all bool
	var role, group, host string
	var dur time.Duration
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "set (--all | --role R | --group G | --host H)",
		Short: "Turn CRM platform tracing on (or --off) for the farm, a role, a server group or a host, and wait until every agent applied it",
		Long: "The setting lasts --for (default 1h, at most 24h; --no-expiry needs the admin role); every agent ends it\n" +
			"by itself on time and restores the values it found. Host beats group beats role beats the farm.\n" +
			"Exit status 0 only when every targeted agent applied it; the output names the others and why.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := pickTarget(all, role, group, host)
			if err != nil {
				return err
			}
			req.Target, req.For = t, settings.Duration(dur)
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.TraceSet(cmd.Context(), req)
			if err != nil {
				return err
			}
			return waitAndReport(cmd, conn, c, "set", resp, wait)
		},
	}
	conn.register(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "the whole farm")
	f.StringVar(&role, "role", "", "every agent of this CRM role, e.g. AppServer")
	f.StringVar(&group, "group", "", "a server group of the server's --overrides files")
	f.StringVar(&host, "host", "", "one host")
	f.BoolVar(&req.Off, "off", false, "turn tracing off (TraceEnabled=0) instead of on")
	f.StringVar(&req.Categories, "categories", settings.DefaultCategories, "TraceCategories: Category[.Sub|.*]:Level joined by ';', levels Off, Error, Warning, Info, Verbose")
	f.BoolVar(&req.CallStack, "callstack", false, "write call stacks (TraceCallStack=1)")
	f.IntVar(&req.FileSizeMB, "filesize", settings.DefaultFileSizeMB, fmt.Sprintf("TraceFileSizeLimit in MB (%d-%d)", settings.MinFileSizeMB, settings.MaxFileSizeMB))
	f.DurationVar(&dur, "for", settings.DefaultFor, fmt.Sprintf("how long the setting holds (at most %s)", settings.MaxFor))
	f.BoolVar(&req.NoExpiry, "no-expiry", false, "keep the setting until it is cleared (admin only)")
	f.StringVar(&req.Reason, "reason", "", "why, e.g. a ticket number (kept in the audit log)")
	f.DurationVar(&wait, "wait", defaultTraceWait, "how long to wait for the agents' acknowledgements")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if req.Off {
			// The on-only flags' defaults do not apply to --off.
			if !cmd.Flags().Changed("categories") {
				req.Categories = ""
			}
			if !cmd.Flags().Changed("filesize") {
				req.FileSizeMB = 0
			}
		}
		if req.NoExpiry && !cmd.Flags().Changed("for") {
			dur = 0
		}
		return nil
	}
	return cmd
}

// pickTarget turns the exclusive target flags into a target.
func pickTarget(all bool, role, group, host string) (settings.Target, error) {
	var ts []settings.Target
	if all {
		ts = append(ts, settings.Farm)
	}
	for _, x := range []struct {
		scope settings.Scope
		name  string
	}{{settings.ScopeRole, role}, {settings.ScopeGroup, group}, {settings.ScopeHost, host}} {
		if x.name != "" {
			ts = append(ts, settings.Target{Scope: x.scope, Name: x.name})
		}
	}
	if len(ts) != 1 {
		return settings.Target{}, errors.New("give exactly one target: --all, --role ROLE, --group GROUP or --host HOST")
	}
	return ts[0], nil
}

// newTraceClearCmd is `crmwatch trace clear TARGET`.
func newTraceClearCmd() *cobra.Command {
	conn := &serverConn{}
	var reason string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "clear TARGET",
		Short: "Remove the trace setting of a target (all, role:R, group:G or host:H); its agents fall back or restore what they found",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := settings.ParseTarget(strings.Join(args, " "))
			if err != nil {
				return err
			}
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.TraceClear(cmd.Context(), settings.ClearRequest{Target: t, Reason: reason})
			if err != nil {
				return err
			}
			return waitAndReport(cmd, conn, c, "cleared", resp, wait)
		},
	}
	conn.register(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the audit log)")
	cmd.Flags().DurationVar(&wait, "wait", defaultTraceWait, "how long to wait for the agents' acknowledgements")
	return cmd
}

// waitAndReport shows the change, waits with a progress line for every
// affected agent, prints the outcome and fails unless all applied.
func waitAndReport(cmd *cobra.Command, conn *serverConn, c *client.Client, verb string, resp settings.ChangeResponse, wait time.Duration) error {
	out := cmd.OutOrStdout()
	if !conn.json {
		if err := client.PrintTraceChange(out, verb, resp, time.Local); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(cmd.Context(), wait)
	defer cancel()
	prog := client.NewProgressLine(cmd.ErrOrStderr())
	outs, err := c.TraceWait(wctx, resp.Agents, client.TraceWaitOptions{Progress: func(o []client.TraceOutcome) {
		prog.Show("waiting for acknowledgements: " + client.TraceProgress(o))
	}})
	prog.End()
	if err != nil {
		return err
	}
	ok := true
	for _, o := range outs {
		ok = ok && o.OK()
	}
	if conn.json {
		if err := printJSONTo(out, traceChangeResult{Change: resp, Agents: outs, AllApplied: ok}); err != nil {
			return err
		}
	} else if len(outs) > 0 {
		if err := client.PrintTraceOutcomes(out, outs); err != nil {
			return err
		}
	}
	if !ok {
		return exitError{code: 1}
	}
	return nil
}

// newTraceStatusCmd is `crmwatch trace status`.
func newTraceStatusCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the trace settings and, per agent, the effective setting and its source, what it applied, the result, expiry and what it will restore",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			st, err := c.TraceStatus(cmd.Context())
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), st)
			}
			return client.PrintTraceStatus(cmd.OutOrStdout(), st, time.Local)
		},
	}
	conn.register(cmd.Flags())
	return cmd
}
