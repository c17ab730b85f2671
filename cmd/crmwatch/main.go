// Command crmwatch is the one binary of crmwatch: server, agent, simulator,
// demo, the offline trace toolchain, pack tools and the operator CLI. main
// stays thin: it builds the command tree, the logger and the signal context;
// each process is an app package with ordered start and complete shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "crmwatch:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code after the command already printed
// what went wrong (e.g. pack validate listing every problem).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "crmwatch",
		Short:         "Monitoring, alerting and trace toolchain for hosted Dynamics CRM farms",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cobra.MousetrapHelpText = ""
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		newServerCmd(),
		newAgentCmd(),
		newSimulateCmd(),
		newDemoCmd(),
		newTraceCmd(),
		newAlertsCmd(),
		newMaintenanceCmd(),
		newSilenceCmd(),
		newOperatorsCmd(),
		newPackCmd(),
	)
	return root
}
