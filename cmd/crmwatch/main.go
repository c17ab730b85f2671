// Command crmwatch is the one binary of crmwatch: server, agent, simulator,
// demo, the offline trace toolchain, pack tools and the operator CLI. main
// stays thin: it builds the command tree, the logger and the signal context;
// each process is an app package with ordered start and complete shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"crmwatch/cmd/internal/cli"
	"crmwatch/collectors"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cobra.MousetrapHelpText = "" // a global: set once here, not per command tree
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		stop()
		os.Exit(report(os.Stderr, err))
	}
}

// exitError ends the process with a code. Without err the command already
// printed what went wrong (pack validate listing every problem, grep finding
// nothing); with err, err is printed first.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e exitError) Unwrap() error { return e.err }

// report prints a command's error the way the binary does and returns the
// exit status: 1 unless the error says otherwise. Tests use it to check
// both, running the command tree in-process.
func report(w io.Writer, err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(w, "crmwatch:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(w, "crmwatch:", err)
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "crmwatch",
		Short:         "Monitoring, alerting and trace toolchain for hosted Dynamics CRM farms",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			_, err := logLevel(cmd)
			return err
		},
	}
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(cli.FlagHint)
	root.AddCommand(
		newServerCmd(),
		newAgentCmd(),
		newAgentsCmd(),
		newSimulateCmd(),
		newDemoCmd(),
		newTraceCmd(),
		newEventsCmd(),
		newAlertsCmd(),
		newNotifyCmd(),
		newMaintenanceCmd(),
		newSilenceCmd(),
		newOperatorsCmd(),
		newAuditCmd(),
		newPackCmd(),
		newReportCmd(),
		newSNMPCmd(),
		newDashboardsCmd(),
	)
	return root
}

// logLevel and newProcessLogger are the shared ones (cmd/internal/cli), so
// both binaries read --log-level the same way.
func logLevel(cmd *cobra.Command) (slog.Level, error) { return cli.LogLevel(cmd) }

func newProcessLogger(cmd *cobra.Command) *slog.Logger { return cli.ProcessLogger(cmd) }

// newAgentCmd is crmwatch agent; crmwatch-agent is the same command alone.
func newAgentCmd() *cobra.Command { return cli.AgentCommand(version) }

func agentFactories() []collectors.Factory { return cli.AgentFactories() }
