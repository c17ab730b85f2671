package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"crmwatch/server"
	"crmwatch/store/sqlstore"
)

// newServerCmd is crmwatch server: the central process.
func newServerCmd() *cobra.Command {
	o := server.Options{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the crmwatch server: embedded NATS, rules engine, alert store, HTTP API",
		Long: "Run the central crmwatch server. By default it embeds a NATS server with JetStream\n" +
			"(agents connect to nats://127.0.0.1:4247) and keeps alerts in SQLite under --data.\n" +
			"Use --nats URLS to join an existing NATS cluster and --store postgres://… to share\n" +
			"one store between several servers.\n\n" +
			"SIGHUP (or crmwatch pack reload) re-reads --packs and --overrides; a set that fails\n" +
			"validation is refused with every problem listed and the running rules stay.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = newProcessLogger(cmd)
			o.Version = version
			srv, err := server.New(o)
			if err != nil {
				return err
			}
			defer reloadOnHangup(cmd.Context(), srv)()
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", sqlstore.DefaultDataDir, "data directory (SQLite store and embedded NATS store)")
	f.StringVar(&o.Listen, "listen", server.DefaultListen, "HTTP API address")
	f.StringVar(&o.NATS, "nats", server.DefaultNATS, `"embedded", or comma-separated nats:// URLs of an existing NATS with JetStream`)
	f.StringVar(&o.NATSListen, "nats-listen", server.DefaultNATSListen, "client address of the embedded NATS server")
	f.StringVar(&o.Store, "store", server.DefaultStore, `"sqlite" (file in --data), a SQLite file path, or a postgres:// URL`)
	f.StringSliceVar(&o.PackDirs, "packs", nil, "extra pack directories loaded on top of the built-in CRM pack (repeatable)")
	f.StringSliceVar(&o.Overrides, "overrides", nil, "overrides files applied per host, group and role (repeatable; see docs/packs.md §4; re-read on reload)")
	f.StringVar(&o.OrgNames, "org-names", "", "file naming organizations (GUID → name, YAML or CSV) shown beside their GUIDs")
	f.DurationVar(&o.LeaseTTL, "lease-ttl", 0, "how long the evaluator role stays with a server that stopped renewing it (a crash) before another server takes over (default 10s)")
	return cmd
}

// reloadOnHangup reloads the packs on every SIGHUP until ctx ends or the
// returned stop is called. Reload logs and audits the outcome itself.
func reloadOnHangup(ctx context.Context, srv *server.Server) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				srv.Reload(ctx, "SIGHUP") //nolint:errcheck // logged and audited by Reload
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// newProcessLogger is the text logger of the long-running processes, at the
// root --log-level.
func newProcessLogger(cmd *cobra.Command) *slog.Logger {
	lvl := slog.LevelInfo
	if s, err := cmd.Flags().GetString("log-level"); err == nil {
		_ = lvl.UnmarshalText([]byte(s))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}
