package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newAgentCmd() *cobra.Command {
	return &cobra.Command{Use: "agent", Hidden: true}
}
