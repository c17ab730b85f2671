// Command crmwatch-agent is the agent alone, for the CRM servers: the same
// command, flags and behaviour as `crmwatch agent`, in a binary that leaves
// out the server, its stores, the console and the offline tools. On a CRM
// server every resident megabyte is the customer's, and a process pages in
// much of the code it links (docs/performance.md, agent footprint).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"crmwatch/cmd/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cobra.MousetrapHelpText = ""
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "crmwatch-agent:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := cli.AgentCommand(version)
	root.Use = "crmwatch-agent"
	root.Version = version
	root.SilenceUsage, root.SilenceErrors = true, true
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(cli.FlagHint)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		_, err := cli.LogLevel(cmd)
		return err
	}
	root.Example = strings.ReplaceAll(root.Example, "crmwatch agent", "crmwatch-agent")
	return root
}
