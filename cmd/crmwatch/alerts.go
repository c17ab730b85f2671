package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/certs"
	"crmwatch/secret"
)

// serverConn holds the flags of every command that talks to a running
// server: --url, --token and --json.
type serverConn struct {
	url      string
	token    secret.Value
	json     bool
	ca       string
	insecure bool
}

// register adds the flags. Usage strings carry no back-quotes: pflag would
// print a back-quoted word as the flag's value name.
func (c *serverConn) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "server URL (default "+client.DefaultURL+", or $"+client.EnvURL+")")
	fs.Var(&c.token, "token", "operator token (or $"+client.EnvToken+"); an admin issues one with crmwatch operators add")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	fs.StringVar(&c.ca, "ca", "", "CA file the server's HTTPS certificate must chain to (or $"+certs.EnvCA+"; with server --tls auto it is <data>/tls/ca.pem)")
	fs.BoolVar(&c.insecure, "insecure-skip-verify", false, "do not check the server's HTTPS certificate (unsafe: warns; use --ca instead)")
}

func (c *serverConn) client(cmd *cobra.Command) (*client.Client, error) {
	o, err := client.Resolve(c.url, c.token)
	if err != nil {
		return nil, err
	}
	o.CA, o.InsecureSkipVerify = c.ca, c.insecure
	if c.insecure {
		fmt.Fprintln(cmd.ErrOrStderr(), certs.InsecureWarning)
	}
	return client.New(o)
}

func printJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newAlertsCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, show, acknowledge, resolve, comment on and assign alerts on a running server",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(newAlertsListCmd(conn), newAlertsShowCmd(conn),
		newAlertsActionCmd(conn, "ack", "acknowledge", "Acknowledge alerts (repeats keep them acknowledged)"),
		newAlertsActionCmd(conn, "resolve", "resolve", "Resolve alerts (one whose condition goes on is reopened)"),
		newAlertsActionCmd(conn, "comment", "comment", "Add a comment to alerts' history"),
		newAlertsActionCmd(conn, "assign", "assign", "Assign alerts to an operator"))
	return cmd
}

func newAlertsListCmd(conn *serverConn) *cobra.Command {
	var q client.AlertsQuery
	var state string
	var grouped bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts, most recently seen first (alerts grouped under a parent are counted beside it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			if state != "all" && state != "" {
				q.States = strings.Split(state, ",")
			}
			q.TopLevel = !grouped && q.Parent == ""
			page, err := c.Alerts(cmd.Context(), q)
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), page)
			}
			if err := client.PrintAlerts(cmd.OutOrStdout(), page.Alerts, time.Local); err != nil {
				return err
			}
			if page.Total > len(page.Alerts)+q.Offset {
				fmt.Fprintf(cmd.OutOrStdout(), "(%d of %d shown; --limit and --offset page through them)\n", len(page.Alerts), page.Total)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "open", "states to list: open, new, acknowledged, resolved (comma-separated) or all")
	f.StringVar(&q.Severity, "severity", "", "minimum severity: info, warning, error or critical")
	f.StringVar(&q.Host, "host", "", "only alerts touching this host")
	f.StringVar(&q.Rule, "rule", "", "only alerts of this rule id")
	f.StringVar(&q.Organization, "org", "", "only alerts touching this organization (its GUID)")
	f.StringVar(&q.Assignee, "assignee", "", "only alerts assigned to this operator")
	f.StringVar(&q.Parent, "parent", "", "only the alerts grouped under this alert")
	f.BoolVar(&grouped, "grouped", false, "also list alerts grouped under a parent (by default only the parent is listed)")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("at most this many alerts (server default %d)", api.DefaultAlertLimit))
	f.IntVar(&q.Offset, "offset", 0, "skip this many alerts (paging)")
	return cmd
}

func newAlertsShowCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one alert with its knowledge, history, grouped alerts and events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			d, err := c.Alert(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), d)
			}
			return client.PrintAlertDetail(cmd.OutOrStdout(), d, time.Local)
		},
	}
}

// newAlertsActionCmd is alerts ack|resolve|comment|assign: on the alerts
// named, or on the open alerts a filter selects. It exits 1 when any alert
// refused the action (each refusal says the alert's current state).
func newAlertsActionCmd(conn *serverConn, use, action, short string) *cobra.Command {
	var comment, assignee string
	var filter api.BulkFilter
	cmd := &cobra.Command{
		Use:   use + " [ID…]",
		Short: short,
		Long: short + ".\nName the alerts, or select open ones with --rule, --host, --org and --severity\n" +
			"(e.g. alerts " + use + " --rule crm.trace.sql-error --host CRMAPP01). A refused change (already\n" +
			"acknowledged, already resolved) is reported with the alert's state, and the exit status is 1.",
		RunE: func(cmd *cobra.Command, args []string) error {
			hasFilter := filter != (api.BulkFilter{})
			switch {
			case len(args) == 0 && !hasFilter:
				return fmt.Errorf("name the alerts (alerts %s ID…) or select them with --rule, --host, --org or --severity", use)
			case len(args) > 0 && hasFilter:
				return errors.New("give alert ids or a filter, not both")
			case action == "comment" && strings.TrimSpace(comment) == "":
				return errors.New("alerts comment needs --comment TEXT")
			case action == "assign" && !cmd.Flags().Changed("to"):
				return errors.New("alerts assign needs --to OPERATOR (--to \"\" takes the assignment away)")
			}
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			req := api.BulkRequest{Action: action, IDs: args, Comment: comment, Assignee: assignee}
			if hasFilter {
				req.Filter = &filter
			}
			res, err := c.Bulk(cmd.Context(), req)
			if err != nil {
				return err
			}
			if conn.json {
				err = printJSONTo(cmd.OutOrStdout(), res)
			} else {
				err = client.PrintBulk(cmd.OutOrStdout(), pastTense(action), res)
			}
			if err == nil && res.Failed > 0 {
				return exitError{code: 1}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&comment, "comment", "", "comment recorded in each alert's history")
	if action == "assign" {
		f.StringVar(&assignee, "to", "", "the operator to assign the alerts to")
	}
	f.StringVar(&filter.Rule, "rule", "", "select open alerts of this rule")
	f.StringVar(&filter.Host, "host", "", "select open alerts touching this host")
	f.StringVar(&filter.Organization, "org", "", "select open alerts touching this organization")
	f.StringVar(&filter.Severity, "severity", "", "select open alerts of at least this severity")
	return cmd
}

func pastTense(action string) string {
	switch action {
	case "acknowledge":
		return "acknowledged"
	case "resolve":
		return "resolved"
	case "comment":
		return "commented"
	}
	return "assigned"
}
