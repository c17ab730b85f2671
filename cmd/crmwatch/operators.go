package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newOperatorsCmd() *cobra.Command {
	return &cobra.Command{Use: "operators", Hidden: true}
}
