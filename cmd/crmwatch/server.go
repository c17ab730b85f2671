package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newServerCmd() *cobra.Command {
	return &cobra.Command{Use: "server", Hidden: true}
}
