package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newSimulateCmd() *cobra.Command {
	return &cobra.Command{Use: "simulate", Hidden: true}
}
