package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/alerts/suppress"
	"crmwatch/api"
	"crmwatch/api/client"
)

func newMaintenanceCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Maintenance windows: alerts raised inside one are recorded as suppressed and not notified",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(newMaintenanceAddCmd(conn), newMaintenanceListCmd(conn), newMaintenanceRemoveCmd(conn))
	return cmd
}

func newMaintenanceAddCmd(conn *serverConn) *cobra.Command {
	var w windowFlags
	var start, end, every, at, tz string
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "add (--host H | --role R | --group G)… (--start TIME --end TIME | --every DAYS --at HH:MM --for DURATION --tz ZONE)",
		Short: "Add a one-off or weekly maintenance window for hosts, roles or server groups",
		Example: "  crmwatch maintenance add --host CRMAPP01 --start 2026-12-01T22:00:00+01:00 --end 2026-12-02T02:00:00+01:00 --comment \"KB update\"\n" +
			"  crmwatch maintenance add --group frontend --every sat --at 22:00 --for 4h --tz Europe/Berlin --comment \"patch night\"",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := w.fillTimes(start, end, every, at, tz, dur); err != nil {
				return err
			}
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			got, err := c.AddWindow(cmd.Context(), w.Window)
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), got)
			}
			state := "starts later"
			if got.Active {
				state = "active now"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Maintenance window %s added (%s).\n", got.ID, state)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&w.Hosts, "host", nil, "host the window covers (repeatable)")
	f.StringSliceVar(&w.Roles, "role", nil, "CRM role the window covers, e.g. AsyncService (repeatable)")
	f.StringSliceVar(&w.Groups, "group", nil, "server group (from the overrides files) the window covers (repeatable)")
	f.StringVar(&start, "start", "", "start of a one-off window (RFC 3339, e.g. 2026-12-01T22:00:00+01:00)")
	f.StringVar(&end, "end", "", "end of a one-off window (RFC 3339)")
	f.StringVar(&every, "every", "", "days of a weekly window: sat,sun, mon-fri or daily")
	f.StringVar(&at, "at", "", "local start time of a weekly window, HH:MM")
	f.DurationVar(&dur, "for", 0, "length of a weekly window, e.g. 4h")
	f.StringVar(&tz, "tz", "", "time zone of a weekly window (IANA, e.g. Europe/Berlin)")
	f.StringVar(&w.Comment, "comment", "", "why (shown in lists and the audit log)")
	return cmd
}

// windowFlags fills a window from the command line.
type windowFlags struct{ suppress.Window }

func (w *windowFlags) fillTimes(start, end, every, at, tz string, dur time.Duration) error {
	var errs []error
	if every != "" {
		days, err := suppress.ParseDays(every)
		if err != nil {
			errs = append(errs, fmt.Errorf("--every: %w", err))
		}
		w.Weekly = &suppress.Weekly{Days: days, At: at, Duration: suppress.Duration(dur), TZ: tz}
		if start != "" || end != "" {
			errs = append(errs, errors.New("--every makes a weekly window; drop --start and --end"))
		}
		return errors.Join(errs...)
	}
	if at != "" || tz != "" || dur != 0 {
		errs = append(errs, errors.New("--at, --for and --tz belong to a weekly window: add --every DAYS"))
	}
	for _, p := range []struct {
		flag, v string
		t       *time.Time
	}{{"--start", start, &w.Start}, {"--end", end, &w.End}} {
		if p.v == "" {
			errs = append(errs, fmt.Errorf("%s is required for a one-off window (or use --every for a weekly one)", p.flag))
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want RFC 3339 with an offset, e.g. 2026-12-01T22:00:00+01:00", p.flag, p.v))
		}
		*p.t = t
	}
	return errors.Join(errs...)
}

func newMaintenanceListCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List maintenance windows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			ws, err := c.Windows(cmd.Context())
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), api.WindowsResponse{Windows: ws})
			}
			return client.PrintWindows(cmd.OutOrStdout(), ws, time.Local)
		},
	}
}

func newMaintenanceRemoveCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a maintenance window (its suppressed alerts that are still open are notified)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveWindow(cmd.Context(), args[0]); err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), map[string]string{"removed": args[0]})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Maintenance window %s removed.\n", args[0])
			return err
		},
	}
}

func newSilenceCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Silences: alerts matching one are recorded as suppressed and not notified until it expires",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(newSilenceAddCmd(conn), newSilenceListCmd(conn), newSilenceExpireCmd(conn))
	return cmd
}

func newSilenceAddCmd(conn *serverConn) *cobra.Command {
	var req api.SilenceRequest
	var dur time.Duration
	cmd := &cobra.Command{
		Use:     "add MATCHER… --for DURATION --comment TEXT",
		Short:   "Silence alerts whose labels match every matcher (rule, host, role, group, organization, severity)",
		Example: "  crmwatch silence add host=CRMAPP01 'rule=~crm\\.trace\\..*' --for 2h --comment \"SQL failover test\"",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dur <= 0 {
				return errors.New("--for DURATION is required (e.g. --for 2h); a silence always ends")
			}
			if strings.TrimSpace(req.Comment) == "" {
				return errors.New("--comment TEXT is required: say why these alerts are silenced")
			}
			req.Matchers, req.Duration = args, dur.String()
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			got, err := c.AddSilence(cmd.Context(), req)
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), got)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Silence %s added until %s.\n", got.ID, got.End.Local().Format(time.RFC3339))
			return err
		},
	}
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the silence lasts (at most 7 days)")
	cmd.Flags().StringVar(&req.Comment, "comment", "", "why (required)")
	return cmd
}

func newSilenceListCmd(conn *serverConn) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List active silences (--all: expired ones too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			ss, err := c.Silences(cmd.Context())
			if err != nil {
				return err
			}
			if !all {
				kept := ss[:0]
				for _, s := range ss {
					if s.Active || s.ExpiredAt == nil && s.End.After(time.Now()) {
						kept = append(kept, s)
					}
				}
				ss = kept
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), api.SilencesResponse{Silences: ss})
			}
			return client.PrintSilences(cmd.OutOrStdout(), ss, time.Local)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include expired silences")
	return cmd
}

func newSilenceExpireCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "expire ID",
		Short: "End a silence now (its still-open alerts are notified)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			if err := c.ExpireSilence(cmd.Context(), args[0]); err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), map[string]string{"expired": args[0]})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Silence %s expired.\n", args[0])
			return err
		},
	}
}
