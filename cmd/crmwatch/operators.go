package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crmwatch/access"
	"crmwatch/api/client"
	"crmwatch/secret"
	"crmwatch/store/sqlstore"
)

// storeFlags locate the server's store for the commands that work on it
// directly (operators, audit --data), so the first admin can be created
// before anyone has a token. They never take the server's data-directory
// lock: they work next to a running server.
type storeFlags struct {
	data string
	dsn  secret.URL
}

func (f *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.data, "data", sqlstore.DefaultDataDir, "server data directory (store file "+sqlstore.FileName+" inside it)")
	fs.Var(&f.dsn, "store", "store DSN instead of --data: a SQLite file or postgres://… (its password is never printed)")
}

// open opens the existing store. Unless create is set, a store that does
// not exist is an error naming the path and how to create it: a mistyped
// --data must not quietly become a new store no server reads.
func (f *storeFlags) open(cmd *cobra.Command, create bool) (*sqlstore.Store, error) {
	dsn := f.dsn.Reveal()
	if dsn == "" {
		dsn = sqlstore.DataDirDSN(f.data)
	}
	lvl, _ := logLevel(cmd)
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: max(lvl, slog.LevelWarn)}))
	s, err := sqlstore.Open(cmd.Context(), dsn, sqlstore.Options{Logger: logger, MustExist: !create})
	switch {
	case errors.Is(err, sqlstore.ErrNoStore) && f.dsn.IsZero():
		return nil, fmt.Errorf("no crmwatch store in %s (there is no %s): check --data; a server creates its store on its first start (crmwatch server --data %s)",
			f.data, dsn, f.data)
	case errors.Is(err, sqlstore.ErrNoStore):
		return nil, fmt.Errorf("%w: check --store; a server creates the store on its first start (crmwatch server --store …)", err)
	case err != nil:
		return nil, fmt.Errorf("%w (use the server's --data directory or --store DSN)", err)
	}
	return s, nil
}

// localActor names the person at this terminal for the audit log.
func localActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "local:" + u.Username
	}
	return "local"
}

func newOperatorsCmd() *cobra.Command {
	f := &storeFlags{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "operators",
		Short: "Add, list and revoke operators and rotate their tokens (works on the server's store directly)",
		Long: "Operators are the only people allowed into crmwatch; there are no customer accounts.\n" +
			"Roles: admin (everything, including operators), operator (read, acknowledge/resolve, trace changes), readonly.\n" +
			"These commands open the server's existing store directly (run them where the store is; a running\n" +
			"server is fine). A directory without a store is refused: start the server once to create it,\n" +
			"or pass --init to operators add.",
	}
	f.register(cmd.PersistentFlags())
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.AddCommand(newOperatorsAddCmd(f, &asJSON), newOperatorsListCmd(f, &asJSON), newOperatorsRevokeCmd(f, &asJSON),
		newOperatorsRotateCmd(f, &asJSON))
	return cmd
}

func newOperatorsAddCmd(f *storeFlags, asJSON *bool) *cobra.Command {
	var roleText string
	var create bool
	cmd := &cobra.Command{
		Use:   "add NAME --role admin|operator|readonly",
		Short: "Create an operator and print their token once (a revoked operator's name can be used again)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			role, err := access.ParseRole(roleText)
			if err != nil {
				return err
			}
			s, err := f.open(cmd, create)
			if err != nil {
				return err
			}
			defer s.Close()
			tok, err := access.CreateOperator(cmd.Context(), s, access.NewOperator{Name: args[0], Role: role, By: localActor()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if *asJSON {
				return printJSONTo(out, map[string]string{"name": args[0], "role": string(role), "token": tok.Reveal()})
			}
			_, err = fmt.Fprintf(out, "Operator %s (%s) created. Their token, shown only this once:\n\n    %s\n\n"+
				"Hand it over privately. Use it with --token or: export %s=<token>\n",
				args[0], role, tok.Reveal(), client.EnvToken)
			return err
		},
	}
	cmd.Flags().StringVar(&roleText, "role", "", "admin, operator or readonly (required)")
	cmd.Flags().BoolVar(&create, "init", false, "create the store if there is none yet (before the server's first start)")
	cmd.MarkFlagRequired("role") //nolint:errcheck // the flag exists
	return cmd
}

func newOperatorsListCmd(f *storeFlags, asJSON *bool) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List operators, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			ops, err := s.Operators(cmd.Context())
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSONTo(cmd.OutOrStdout(), map[string]any{"operators": ops})
			}
			return client.PrintOperators(cmd.OutOrStdout(), ops, time.Local)
		},
	}
}

func newOperatorsRevokeCmd(f *storeFlags, asJSON *bool) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an operator's token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := access.RevokeOperator(cmd.Context(), s, args[0], localActor()); err != nil {
				return err
			}
			if *asJSON {
				return printJSONTo(cmd.OutOrStdout(), map[string]string{"name": args[0], "revoked": "true"})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Operator %s revoked; their token no longer works.\n", args[0])
			return err
		},
	}
}

func newOperatorsRotateCmd(f *storeFlags, asJSON *bool) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate NAME",
		Short: "Give an operator a new token and print it once; the old one is refused at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			tok, err := access.RotateOperator(cmd.Context(), s, args[0], localActor())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if *asJSON {
				return printJSONTo(out, map[string]string{"name": args[0], "token": tok.Reveal()})
			}
			_, err = fmt.Fprintf(out, "Operator %s has a new token, shown only this once; the old one no longer works:\n\n    %s\n\n"+
				"Hand it over privately. Use it with --token or: export %s=<token>\n", args[0], tok.Reveal(), client.EnvToken)
			return err
		},
	}
}
