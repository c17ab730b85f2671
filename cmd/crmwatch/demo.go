package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of this command.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{Use: "demo", Hidden: true}
}
