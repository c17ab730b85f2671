package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newTraceCmd() *cobra.Command {
	return &cobra.Command{Use: "trace", Hidden: true}
}
