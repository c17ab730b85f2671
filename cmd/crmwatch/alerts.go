package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newAlertsCmd() *cobra.Command {
	return &cobra.Command{Use: "alerts", Hidden: true}
}
