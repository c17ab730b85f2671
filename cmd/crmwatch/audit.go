package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/api"
	"crmwatch/api/client"
	"crmwatch/store"
)

// newAuditCmd is crmwatch audit: who changed what, from a running server's
// API or, with --data/--store, from its store directly.
func newAuditCmd() *cobra.Command {
	conn := &serverConn{}
	sf := &storeFlags{}
	var since, actor string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log: operator changes, acknowledgements, pack reloads (admin)",
		Long: "Show the audit log, latest first. By default it asks a running server (--url, --token; admin\n" +
			"role). With --data or --store it reads the server's existing store directly, like crmwatch\n" +
			"operators. --since takes an RFC 3339 time (2026-11-21T23:00:00Z) or a duration before now\n" +
			"(90m, 24h, 7d).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			local := fl.Changed("data") || fl.Changed("store")
			if local && (fl.Changed("url") || fl.Changed("token")) {
				return errors.New("give either --data/--store (read the store directly) or --url/--token (ask a running server), not both")
			}
			now := time.Now()
			from := time.Time{}
			if since != "" {
				t, err := api.ParseSince(since, now)
				if err != nil {
					return errors.New("--since " + err.Error())
				}
				from = t
			}
			var entries []store.AuditEntry
			if local {
				s, err := sf.open(cmd, false)
				if err != nil {
					return err
				}
				defer s.Close()
				if limit <= 0 {
					limit = api.DefaultAuditLimit
				}
				if entries, err = s.AuditLog(cmd.Context(), store.AuditFilter{Since: from, Actor: actor, Limit: limit}); err != nil {
					return err
				}
			} else {
				c, err := conn.client(cmd)
				if err != nil {
					return err
				}
				q := client.AuditQuery{Actor: actor, Limit: limit}
				if !from.IsZero() {
					q.Since = from.Format(time.RFC3339Nano)
				}
				if entries, err = c.Audit(cmd.Context(), q); err != nil {
					return err
				}
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), api.AuditResponse{Entries: entries})
			}
			return client.PrintAudit(cmd.OutOrStdout(), entries, time.Local)
		},
	}
	f := cmd.Flags()
	conn.register(f)
	sf.register(f)
	f.StringVar(&since, "since", "", "only entries at or after this RFC 3339 time, or this long ago (24h, 7d)")
	f.StringVar(&actor, "actor", "", "only entries by this operator (local:USER for changes made on the store directly)")
	f.IntVar(&limit, "limit", 0, fmt.Sprintf("at most this many entries (default %d)", api.DefaultAuditLimit))
	return cmd
}
