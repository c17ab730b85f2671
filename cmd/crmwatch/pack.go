package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newPackCmd() *cobra.Command {
	return &cobra.Command{Use: "pack", Hidden: true}
}
