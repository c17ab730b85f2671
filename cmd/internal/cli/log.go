// Package cli holds the command-line parts the two binaries share: the
// agent command, which is both `crmwatch agent` and the agent-only binary
// crmwatch-agent, and the process logger both configure from --log-level.
package cli

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// LogLevel reads the root --log-level; a level slog does not know is an
// error rather than a silent fall-back to info.
func LogLevel(cmd *cobra.Command) (slog.Level, error) {
	lvl := slog.LevelInfo
	s, err := cmd.Flags().GetString("log-level")
	if err != nil {
		return lvl, nil // a command tree without the root flag (tests)
	}
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return lvl, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return lvl, nil
}

// ProcessLogger is the text logger of the long-running processes, on the
// command's standard error at the root --log-level.
func ProcessLogger(cmd *cobra.Command) *slog.Logger {
	lvl, _ := LogLevel(cmd) // checked by the root's PersistentPreRunE
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
}

// FlagHint is the FlagErrorFunc of both binaries' roots (subcommands
// inherit it): a mistyped or misused flag names the command whose --help
// lists the right ones.
func FlagHint(cmd *cobra.Command, err error) error {
	return fmt.Errorf("%w (%s --help lists its flags)", err, cmd.CommandPath())
}
