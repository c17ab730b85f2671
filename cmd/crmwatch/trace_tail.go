package main

import "github.com/spf13/cobra"

// PLACEHOLDER: replaced by the owner of the tailer.
func newTraceTailCmd() *cobra.Command {
	return &cobra.Command{Use: "tail", Hidden: true}
}
