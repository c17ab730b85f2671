package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwatch/agent"
	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/secret"
	"crmwatch/tracing/tracectl"
)

// agentFactories are the collector types this build of the agent has.
func agentFactories() []collectors.Factory {
	return []collectors.Factory{tracefiles.NewFactory()}
}

// newAgentCmd is crmwatch agent: the process on every CRM server.
func newAgentCmd() *cobra.Command {
	o := agent.Options{NATS: secret.MustURL(agent.DefaultNATSURL)}
	var otlpHeaders []string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the crmwatch agent: collect traces and events on this CRM server and ship them to the centre",
		Long: "Run the agent on a CRM server. It registers the host with the centre, heartbeats,\n" +
			"and runs the collectors listed in --config (YAML: collectors: {tracefiles: {dirs: [...]}}).\n" +
			"--trace-dir enables the trace-file collector without a config file. While the centre is\n" +
			"unreachable the agent keeps retrying and its checkpoints stay put, so nothing is lost.\n" +
			"--otlp also exports every tailed trace record (and a span per CRM request) to an\n" +
			"OpenTelemetry receiver; a slow or dead receiver never holds up shipping to the centre.\n" +
			"Remote trace control (`crmwatch trace set`) writes the CRM trace values (registry on\n" +
			"Windows) and turns them back by itself at expiry or when the disk guard trips.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = newProcessLogger(cmd)
			o.Version = version
			o.Factories = agentFactories()
			hs, err := agent.ParseHeaders(otlpHeaders)
			if err != nil {
				return err
			}
			o.OTLPHeaders = hs
			a, err := agent.New(o)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.Var(&o.NATS, "nats", "comma-separated nats:// or tls:// URLs of the centre's NATS (the server's --nats-listen); may carry credentials, never printed")
	f.StringVar(&o.Name, "name", "", "host name reported with every event (default: this machine's host name)")
	f.StringSliceVar(&o.Roles, "roles", nil, "this host's CRM roles, e.g. AppServer,AsyncService")
	f.StringVar(&o.ConfigFile, "config", "", "agent configuration file (YAML)")
	f.StringArrayVar(&o.TraceDirs, "trace-dir", nil, "CRM trace directory to follow (repeatable; overrides the config file)")
	f.StringVar(&o.OTLPEndpoint, "otlp", "", "also export trace records to this OTLP/HTTP receiver, e.g. http://otel-collector:4318 (overrides the config file)")
	f.StringArrayVar(&otlpHeaders, "otlp-header", nil, "HTTP header NAME=VALUE for --otlp (repeatable; never printed; replaces the file's otlp headers)")
	f.StringVar(&o.StateDir, "state", "", "directory for collector checkpoints (default: crmwatch-agent-state in the user config dir)")
	f.StringVar(&o.MetricsListen, "metrics-listen", "", "address for the agent's own /metrics (default: off)")
	f.DurationVar(&o.HeartbeatEvery, "heartbeat", agent.DefaultHeartbeat, "heartbeat interval")
	tc := &o.TraceControl
	f.StringVar(&tc.Store, "trace-settings", "", "where remote trace control writes the CRM trace values: registry (default on Windows), file (default elsewhere) or off")
	f.StringVar(&tc.File, "trace-settings-file", "", "settings file for --trace-settings file (default <state>/trace-settings.json)")
	f.Int64Var(&tc.QuotaMB, "trace-quota-mb", 0, fmt.Sprintf("disk guard: turn tracing back off when the trace folder passes this size (default %d; -1 off)", tracectl.DefaultQuotaBytes>>20))
	f.Int64Var(&tc.MinFreeMB, "trace-min-free-mb", 0, fmt.Sprintf("disk guard: ... or when the trace volume has less free space (default %d; -1 off)", tracectl.DefaultMinFreeBytes>>20))
	f.Float64Var(&tc.MinFreePercent, "trace-min-free-percent", 0, fmt.Sprintf("disk guard: ... or less free space in percent (default %g; -1 off)", tracectl.DefaultMinFreePercent))
	return cmd
}
