package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crmwatch/access"
	notifyconfig "crmwatch/notify/config"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/store/sqlstore"
)

// newServerCmd is crmwatch server: the central process.
func newServerCmd() *cobra.Command {
	o := server.Options{NATS: secret.MustURL(server.DefaultNATS), Store: secret.MustURL(server.DefaultStore)}
	var configPath string
	var webhookURL, alertmanagerURL secret.URL
	var trap trapShortcut
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the crmwatch server: embedded NATS, rules engine, alert store, HTTP API and operator console",
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
			file, err := notifySettings(&o.Notify, configPath, webhookURL, alertmanagerURL, trap)
			if err != nil {
				return err
			}
			capacityReportSettings(cmd.Flags(), &o.CapacityReports, file.Reports.Capacity)
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
	f.Var(&o.NATS, "nats", `"embedded", or comma-separated nats:// or tls:// URLs of an existing NATS with JetStream (may carry credentials, never printed)`)
	f.StringVar(&o.NATSListen, "nats-listen", server.DefaultNATSListen, "client address of the embedded NATS server")
	f.Var(&o.Store, "store", `"sqlite" (file in --data), a SQLite file path, or a postgres:// URL (its password is never printed)`)
	f.StringSliceVar(&o.PackDirs, "packs", nil, "extra pack directories loaded on top of the built-in CRM pack (repeatable)")
	f.StringSliceVar(&o.Overrides, "overrides", nil, "overrides files applied per host, group and role (repeatable; see docs/packs.md §4; re-read on reload)")
	f.StringVar(&o.OrgNames, "org-names", "", "file naming organizations (GUID → name, YAML or CSV) shown beside their GUIDs")
	f.Var(byteSize{&o.StreamMaxBytes}, "stream-max-bytes", "size limit of each JetStream stream, which JetStream reserves from its storage when the stream is created (e.g. 256MiB; -1 no limit; default 1GiB)")
	f.StringVar(&o.NATSCreds, "nats-creds", "", "credentials file the server authenticates to an external NATS with (crmwatch agents nats-config --server-creds writes it)")
	f.StringVar(&o.NATSAuth, "nats-auth", server.NATSAuthNone, "creds: only enrolled agents (crmwatch agents enroll) may connect to the embedded NATS, each to its own host's subjects; none: anyone who reaches the port")
	f.StringVar(&o.TLS.Mode, "tls", "", "auto: serve the API over HTTPS and the embedded NATS over TLS with a private CA kept in <data>/tls (clients need <data>/tls/ca.pem: --ca or CRMWATCH_CA)")
	f.StringVar(&o.TLS.CertFile, "tls-cert", "", "PEM certificate chain for HTTPS and the embedded NATS (with --tls-key)")
	f.StringVar(&o.TLS.KeyFile, "tls-key", "", "PEM private key of --tls-cert (unencrypted; never printed)")
	f.StringVar(&o.CapacityReports.Dir, "capacity-report-dir", "", "write a capacity report to this folder on a schedule (capacity-YYYYMMDD-HHMM.html and .json; see docs/capacity.md)")
	f.StringSliceVar(&o.CapacityReports.Mail, "capacity-report-mail", nil, "mail each scheduled capacity report through these e-mail receivers of the --config notify section (repeatable)")
	f.DurationVar(&o.CapacityReports.Every, "capacity-report-every", 24*time.Hour, "interval of the scheduled capacity reports")
	f.DurationVar(&o.CapacityReports.Since, "capacity-report-since", 30*24*time.Hour, "window of each scheduled capacity report")
	f.StringSliceVar(&o.CapacityReports.Formats, "capacity-report-format", []string{"html", "json"}, "formats of the scheduled capacity reports: html, json, csv (repeatable)")
	f.StringVar(&configPath, "config", "", "server configuration file (YAML): notification receivers and routes (docs/notifications.md), scheduled capacity reports (docs/capacity.md)")
	f.Var(&webhookURL, "webhook", "send every alert change to this webhook URL (receiver \"webhook\", unsigned; its token is never printed)")
	f.Var(&alertmanagerURL, "alertmanager", "send every alert to this Prometheus Alertmanager (base URL, e.g. http://127.0.0.1:9093; receiver \"alertmanager\")")
	f.DurationVar(&o.SessionTTL, "session-ttl", access.DefaultSessionTTL, "how long a sign-in to the operator console at / lasts")
	trap.register(f)
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

// notifySettings reads the --config file, takes its notify section and adds
// the shortcut flags' receivers; it returns the file for its other sections.
func notifySettings(n *notifyconfig.Section, configPath string, webhookURL, alertmanagerURL secret.URL, trap trapShortcut) (server.ConfigFile, error) {
	f, err := server.ReadConfigFile(configPath)
	if err != nil {
		return f, err
	}
	*n = f.Notify
	if !webhookURL.IsZero() {
		server.AddShortcut(n, server.WebhookShortcut(webhookURL))
	}
	if !alertmanagerURL.IsZero() {
		server.AddShortcut(n, server.AlertmanagerShortcut(alertmanagerURL))
	}
	if trap.target != "" {
		server.AddShortcut(n, server.SNMPTrapShortcut(trap.target, trap.community))
	}
	return f, nil
}

// capacityReportSettings takes the --config file's reports.capacity
// section for every setting whose flag was not given: flags win.
func capacityReportSettings(fl *pflag.FlagSet, c *server.CapacityReports, file server.CapacityReports) {
	if file.Dir != "" && !fl.Changed("capacity-report-dir") {
		c.Dir = file.Dir
	}
	if len(file.Mail) > 0 && !fl.Changed("capacity-report-mail") {
		c.Mail = file.Mail
	}
	if file.Every != 0 && !fl.Changed("capacity-report-every") {
		c.Every = file.Every
	}
	if file.Since != 0 && !fl.Changed("capacity-report-since") {
		c.Since = file.Since
	}
	if len(file.Formats) > 0 && !fl.Changed("capacity-report-format") {
		c.Formats = file.Formats
	}
}

// trapShortcut holds --snmp-trap-target and --snmp-trap-community.
type trapShortcut struct {
	target    string
	community secret.Value
}

func (t *trapShortcut) register(f *pflag.FlagSet) {
	t.community = secret.New("public")
	f.StringVar(&t.target, "snmp-trap-target", "", "send every alert as an SNMPv2c trap (CRMWATCH-MIB) to udp:HOST:PORT (receiver \"snmp-trap\"; SNMPv3 needs --config)")
	f.Var(&t.community, "snmp-trap-community", "community of --snmp-trap-target (default public; never printed)")
}
