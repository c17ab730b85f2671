package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwatch/server"
)

// newPackReloadCmd is crmwatch pack reload: ask a running server to re-read
// its packs and overrides (admin).
func newPackReloadCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make a running server re-read its --packs and --overrides (admin); a refused set leaves the running rules in place",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := conn.client(cmd)
			if err != nil {
				return err
			}
			var res server.ReloadResult
			if err := cl.Do(cmd.Context(), "POST", server.ReloadPath, nil, &res); err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rules reloaded: %s running; collection plans changed for %s (agents apply them without a restart)\n",
				count(res.Rules, "rule"), count(res.PlansChanged, "role"))
			return nil
		},
	}
	conn.register(cmd.Flags())
	return cmd
}
