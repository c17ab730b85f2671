package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/access"
	"crmwatch/api/client"
	"crmwatch/store/sqlstore"
)

// operatorStoreFlags locate the server's store: operators are managed on it
// directly, so the first admin can be created before anyone has a token.
type operatorStoreFlags struct {
	data, dsn string
	json      bool
}

func (f *operatorStoreFlags) open(ctx context.Context) (*sqlstore.Store, error) {
	dsn := f.dsn
	if dsn == "" {
		dsn = sqlstore.DataDirDSN(f.data)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Logger: logger})
	if err != nil {
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
	f := &operatorStoreFlags{}
	cmd := &cobra.Command{
		Use:   "operators",
		Short: "Add, list and revoke operators (works on the server's store directly)",
		Long: "Operators are the only people allowed into crmwatch; there are no customer accounts.\n" +
			"Roles: admin (everything, including operators), operator (read, acknowledge/resolve, trace changes), readonly.\n" +
			"These commands open the server's store directly, so run them where the store is.",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.data, "data", sqlstore.DefaultDataDir, "server data directory (store file "+sqlstore.FileName+" inside it)")
	pf.StringVar(&f.dsn, "store", "", "store DSN instead of --data: a SQLite file or postgres://…")
	pf.BoolVar(&f.json, "json", false, "print JSON for scripts")
	cmd.AddCommand(newOperatorsAddCmd(f), newOperatorsListCmd(f), newOperatorsRevokeCmd(f))
	return cmd
}

func newOperatorsAddCmd(f *operatorStoreFlags) *cobra.Command {
	var roleText string
	cmd := &cobra.Command{
		Use:   "add NAME --role admin|operator|readonly",
		Short: "Create an operator and print their token once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			role, err := access.ParseRole(roleText)
			if err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			tok, err := access.CreateOperator(cmd.Context(), s, access.NewOperator{Name: args[0], Role: role, By: localActor()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return printJSONTo(out, map[string]string{"name": args[0], "role": string(role), "token": tok.Reveal()})
			}
			_, err = fmt.Fprintf(out, "Operator %s (%s) created. Their token, shown only this once:\n\n    %s\n\n"+
				"Hand it over privately. Use it with --token or: export %s=<token>\n",
				args[0], role, tok.Reveal(), client.EnvToken)
			return err
		},
	}
	cmd.Flags().StringVar(&roleText, "role", "", "admin, operator or readonly (required)")
	cmd.MarkFlagRequired("role") //nolint:errcheck // the flag exists
	return cmd
}

func newOperatorsListCmd(f *operatorStoreFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List operators, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			ops, err := s.Operators(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				return printJSONTo(cmd.OutOrStdout(), map[string]any{"operators": ops})
			}
			return client.PrintOperators(cmd.OutOrStdout(), ops, time.Local)
		},
	}
}

func newOperatorsRevokeCmd(f *operatorStoreFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an operator's token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := access.RevokeOperator(cmd.Context(), s, args[0], localActor()); err != nil {
				return err
			}
			if f.json {
				return printJSONTo(cmd.OutOrStdout(), map[string]string{"name": args[0], "revoked": "true"})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Operator %s revoked; their token no longer works.\n", args[0])
			return err
		},
	}
}
