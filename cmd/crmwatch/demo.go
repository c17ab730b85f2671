package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwatch/demo"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/store/sqlstore"
)

// newDemoCmd is crmwatch demo: everything on one machine.
func newDemoCmd() *cobra.Command {
	o := demo.Options{}
	var bf string
	var webhookURL, alertmanagerURL secret.URL
	var trap trapShortcut
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run server, a simulated CRM farm and its agents on this machine",
		Long: "Run a complete crmwatch on one machine: the server (embedded NATS, SQLite under --data),\n" +
			"a simulated farm of CRM servers writing real-format trace files, and one agent per\n" +
			"simulated host. It creates an admin operator, prints the API address and token (also\n" +
			"saved in <data>/demo-token), and injects the sql-timeouts fault after a few seconds.\n" +
			"Reusing --data keeps earlier alerts. Ctrl-C stops everything.\n\n" +
			"Into a store without capacity history it also writes --backfill (30 days) of simulated history\n" +
			"in the background, so crmwatch report capacity shows a real report at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bf == "0" || bf == "none" {
				o.Backfill = -1
			} else {
				d, err := parseSpan("--backfill", bf)
				if err != nil {
					return fmt.Errorf(`%w, or "none"`, err)
				}
				o.Backfill = d
			}
			o.Logger = newProcessLogger(cmd)
			o.Version = version
			o.Out = cmd.OutOrStdout()
			if _, err := notifySettings(&o.Notify, "", webhookURL, alertmanagerURL, trap); err != nil {
				return err
			}
			return demo.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", sqlstore.DefaultDataDir, "data directory")
	f.StringVar(&bf, "backfill", "30d", `capacity history written into a store that has none ("none" for none)`)
	f.StringVar(&o.Listen, "listen", server.DefaultListen, "HTTP API address")
	f.StringVar(&o.NATSListen, "nats-listen", server.DefaultNATSListen, "embedded NATS address")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.IntVar(&o.Hosts, "hosts", demo.DefaultHosts, "number of simulated CRM servers")
	f.StringVar(&o.Fault, "fault", demo.DefaultFault, `fault to inject ("none" for none)`)
	f.DurationVar(&o.FaultAfter, "fault-after", demo.DefaultFaultAfter, "when to inject the fault")
	f.Var(&webhookURL, "webhook", "send every alert change to this webhook URL (receiver \"webhook\", unsigned; its token is never printed)")
	f.Var(&alertmanagerURL, "alertmanager", "send every alert to this Prometheus Alertmanager (base URL, e.g. http://127.0.0.1:9093; receiver \"alertmanager\")")
	trap.register(f)
	return cmd
}
