package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"crmwatch/agent"
	"crmwatch/collectors"
	"crmwatch/collectors/eventlog"
	"crmwatch/collectors/perfcounters"
	"crmwatch/collectors/snmptrap"
	"crmwatch/collectors/tracefiles"
	"crmwatch/secret"
	"crmwatch/tracing/tracectl"
)

// AgentFactories are the collector types this build of the agent has.
func AgentFactories() []collectors.Factory {
	return []collectors.Factory{tracefiles.NewFactory(), perfcounters.NewFactory(), snmptrap.NewFactory(), eventlog.NewFactory()}
}

// agentProcs is the agent's GOMAXPROCS: one, unless $GOMAXPROCS says
// otherwise. An agent shares the CRM server with the customer's work and
// one core carries far more than a server produces (docs/performance.md:
// trace parsing, 20,000 traps/s); with more Ps the runtime wakes idle
// threads to look for work at every hand-over between goroutines, which
// cost the agent about a fifth of its CPU at a steady 1,000 events/s.
func agentProcs(getenv func(string) string, current int) int {
	if getenv("GOMAXPROCS") != "" {
		return current
	}
	return 1
}

// AgentCommand is the agent, the process on every CRM server: `crmwatch
// agent` and the root of the agent-only binary crmwatch-agent. version is
// reported to the centre.
func AgentCommand(version string) *cobra.Command {
	o := agent.Options{NATS: secret.MustURL(agent.DefaultNATSURL)}
	var sets []string
	var short agent.Shortcuts
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the crmwatch agent: collect traces, counters and events on this CRM server and ship them to the centre",
		Long: "Run the agent on a CRM server. It registers the host with the centre, heartbeats,\n" +
			"and runs the collectors listed in --config (YAML: collectors: {tracefiles: {dirs: [...]}})\n" +
			"plus what the packs ask for its roles (counters, trace folders …), which the centre\n" +
			"publishes and a pack reload updates without restarting the agent.\n" +
			"--set collectors.TYPE.SETTING=VALUE changes any collector setting (repeatable; VALUE is\n" +
			"YAML: 15s, 30, true, [a, b]); --trace-dir and --otlp are shortcuts for the trace-file\n" +
			"collector's dirs and otlp.endpoint. --roles auto finds the CRM roles (Windows registry and\n" +
			"services, the ServerRole header of the trace files) besides the ones listed.\n" +
			"While the centre is unreachable the agent keeps retrying and its checkpoints stay put,\n" +
			"so nothing is lost. --otlp also exports every tailed trace record (and a span per CRM\n" +
			"request) to an OpenTelemetry receiver; a slow or dead receiver never holds up the centre.\n" +
			"Remote trace control (`crmwatch trace set`) writes the CRM trace values (registry on\n" +
			"Windows) and turns them back by itself at expiry or when the disk guard trips.\n" +
			"The agent runs Go on one processor (GOMAXPROCS=1) unless $GOMAXPROCS is set: it shares\n" +
			"the server with CRM, and one core carries far more than a CRM server produces.",
		Example: "  crmwatch agent --roles auto --trace-dir 'C:\\Program Files\\Microsoft Dynamics CRM\\Trace'\n" +
			"  crmwatch agent --roles SqlServer --set collectors.perfcounters.interval=30s\n" +
			"  crmwatch agent --roles AppServer --set collectors.perfcounters.source=none \\\n" +
			"      --set 'collectors.perfcounters.prometheus=[{url: http://127.0.0.1:9182/metrics, mappings: [...]}]'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runtime.GOMAXPROCS(agentProcs(os.Getenv, runtime.GOMAXPROCS(0)))
			o.Logger = ProcessLogger(cmd)
			o.Version = version
			o.Factories = AgentFactories()
			// Every problem at once: the flags' and the configuration's.
			var errs []error
			for i, s := range sets {
				ov, err := agent.ParseSet(i+1, s)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				o.Set = append(o.Set, ov)
			}
			ovs, err := short.Overrides()
			errs = append(errs, err)
			o.Set = append(o.Set, ovs...)
			a, err := agent.New(o)
			if err := errors.Join(append(errs, err)...); err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.Var(&o.NATS, "nats", "comma-separated nats:// or tls:// URLs of the centre's NATS (the server's --nats-listen); may carry credentials, never printed")
	f.StringVar(&o.Creds, "creds", "", "credentials file from crmwatch agents enroll --out (this host's NATS key; also gives --name, --roles, --nats and the CA unless set)")
	f.StringVar(&o.CA, "ca", "", "CA file the centre's NATS certificate must chain to (or $CRMWATCH_CA; with server --tls auto it is <data>/tls/ca.pem)")
	f.BoolVar(&o.InsecureSkipVerify, "insecure-skip-verify", false, "refused for the agent (exists so the refusal can say why): use --ca")
	f.StringVar(&o.Name, "name", "", "host name reported with every event (default: this machine's host name)")
	f.StringSliceVar(&o.Roles, "roles", nil, "this host's CRM roles, e.g. AppServer,AsyncService; auto discovers them (and keeps the ones listed); none for a host that has no CRM roles")
	f.StringVar(&o.ConfigFile, "config", "", "agent configuration file (YAML)")
	f.StringArrayVar(&sets, "set", nil, "collectors.TYPE.SETTING=VALUE over the config file (repeatable), e.g. collectors.perfcounters.interval=15s")
	f.StringArrayVar(&short.TraceDirs, "trace-dir", nil, "CRM trace directory to follow (repeatable): shortcut for --set collectors.tracefiles.dirs=[...]")
	f.StringVar(&short.OTLP, "otlp", "", "also export trace records to this OTLP/HTTP receiver, e.g. http://otel-collector:4318: shortcut for --set collectors.tracefiles.otlp.endpoint=URL")
	f.StringArrayVar(&short.OTLPHeaders, "otlp-header", nil, "HTTP header NAME=VALUE for --otlp (repeatable; never printed; replaces the file's otlp headers)")
	f.StringVar(&o.StateDir, "state", "", "directory for collector checkpoints (default: crmwatch-agent-state in the user config dir)")
	f.StringVar(&o.MetricsListen, "metrics-listen", "", "address for the agent's own /metrics, with crmwatch_perfcounter_value for every counter it ships (default: off)")
	f.DurationVar(&o.HeartbeatEvery, "heartbeat", agent.DefaultHeartbeat, "heartbeat interval")
	tc := &o.TraceControl
	f.StringVar(&tc.Store, "trace-settings", "", "where remote trace control writes the CRM trace values: registry (default on Windows), file (default elsewhere) or off")
	f.StringVar(&tc.File, "trace-settings-file", "", "settings file for --trace-settings file (default <state>/trace-settings.json)")
	f.Int64Var(&tc.QuotaMB, "trace-quota-mb", 0, fmt.Sprintf("disk guard: turn tracing back off when the trace folder passes this size (default %d; -1 off)", tracectl.DefaultQuotaBytes>>20))
	f.Int64Var(&tc.MinFreeMB, "trace-min-free-mb", 0, fmt.Sprintf("disk guard: ... or when the trace volume has less free space (default %d; -1 off)", tracectl.DefaultMinFreeBytes>>20))
	f.Float64Var(&tc.MinFreePercent, "trace-min-free-percent", 0, fmt.Sprintf("disk guard: ... or less free space in percent (default %g; -1 off)", tracectl.DefaultMinFreePercent))
	return cmd
}
