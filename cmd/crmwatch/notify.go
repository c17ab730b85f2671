package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/api/client"
)

// newNotifyCmd is crmwatch notify: the server's notification receivers.
func newNotifyCmd() *cobra.Command {
	conn := &serverConn{}
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "List notification receivers and send a test notification",
	}
	conn.register(cmd.PersistentFlags())
	cmd.AddCommand(&cobra.Command{
		Use:   "receivers",
		Short: "List the notification receivers of the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			rs, err := c.Receivers(cmd.Context())
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), rs)
			}
			return client.PrintReceivers(cmd.OutOrStdout(), rs, time.Local)
		},
	}, &cobra.Command{
		Use:   "test RECEIVER",
		Short: "Send a test notification to a receiver (admin); exits 1 when the receiver refuses it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			res, err := c.NotifyTest(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if conn.json {
				if err := printJSONTo(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			}
			if res.Error != "" {
				return fmt.Errorf("test notification to %s not delivered: %s (check the receiver's settings in the server's --config and that the peer is reachable from the server)", args[0], res.Error)
			}
			if !conn.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Test notification sent to %s (%s) in %s.\n", res.Receiver, res.Kind, res.Took)
			}
			return nil
		},
	})
	return cmd
}
