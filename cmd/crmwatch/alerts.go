package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/secret"
)

// serverConn holds the flags of every command that talks to a running
// server: --url, --token and --json.
type serverConn struct {
	url   string
	token secret.Value
	json  bool
}

// register adds the flags. Usage strings carry no back-quotes: pflag would
// print a back-quoted word as the flag's value name.
func (c *serverConn) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "server URL (default "+client.DefaultURL+", or $"+client.EnvURL+")")
	fs.Var(&c.token, "token", "operator token (or $"+client.EnvToken+"); an admin issues one with crmwatch operators add")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
}

func (c *serverConn) client() (*client.Client, error) {
	o, err := client.Resolve(c.url, c.token)
	if err != nil {
		return nil, err
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
		Short: "List, show, acknowledge and resolve alerts on a running server",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(newAlertsListCmd(conn), newAlertsShowCmd(conn),
		newAlertsChangeCmd(conn, "ack", "Acknowledge an alert (repeats keep it acknowledged)", (*client.Client).Acknowledge),
		newAlertsChangeCmd(conn, "resolve", "Resolve an alert", (*client.Client).Resolve))
	return cmd
}

func newAlertsListCmd(conn *serverConn) *cobra.Command {
	var q client.AlertsQuery
	var state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List alerts, most recently seen first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client()
			if err != nil {
				return err
			}
			if state != "all" && state != "" {
				q.States = strings.Split(state, ",")
			}
			list, err := c.Alerts(cmd.Context(), q)
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), api.AlertsResponse{Alerts: list})
			}
			return client.PrintAlerts(cmd.OutOrStdout(), list, time.Local)
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "open", "states to list: open, new, acknowledged, resolved (comma-separated) or all")
	f.StringVar(&q.Severity, "severity", "", "minimum severity: info, warning, error or critical")
	f.StringVar(&q.Host, "host", "", "only alerts touching this host")
	f.StringVar(&q.Rule, "rule", "", "only alerts of this rule id")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("at most this many alerts (server default %d)", api.DefaultAlertLimit))
	return cmd
}

func newAlertsShowCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one alert with its knowledge, history and events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client()
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

type alertChangeFunc func(*client.Client, context.Context, string) (api.AlertDetail, error)

func newAlertsChangeCmd(conn *serverConn, use, short string, change alertChangeFunc) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client()
			if err != nil {
				return err
			}
			d, err := change(c, cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), d)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Alert %s is now %s.\n", d.Alert.ID, d.Alert.State)
			return err
		},
	}
}
