package main

import (
	"time"

	"github.com/spf13/cobra"

	"crmwatch/api"
	"crmwatch/api/client"
)

// newAgentsCmd is crmwatch agents: the agents a running server knows.
func newAgentsCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "List the agents a running server knows; enroll and revoke their credentials",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List agents: status (up, silent, stopped), roles, version, last heartbeat and warnings",
		Long: "List the agents that registered with the server. STATUS is up, silent (no heartbeat for three\n" +
			"intervals) or stopped (shut down cleanly). WARNINGS names what makes an agent less useful\n" +
			"than it looks: no --roles, a trace directory that is missing or unreadable.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			list, err := c.Agents(cmd.Context())
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), api.AgentsResponse{Agents: list})
			}
			return client.PrintAgents(cmd.OutOrStdout(), list, time.Local)
		},
	})
	cmd.AddCommand(newAgentsEnrollCmd(conn), newAgentsRevokeCmd(conn), newAgentsEnrolledCmd(conn), newAgentsNATSConfigCmd(conn))
	return cmd
}
