// Package demo runs everything on one machine: a crmwatch server with
// embedded NATS and SQLite, a simulated CRM farm, and one in-process agent
// per simulated host following that host's trace directory and reading its
// simulated performance counters (what the built-in pack asks for its
// roles), one per simulated SQL server, and one for this machine with its
// real counters. After a few seconds it injects a fault so alerts from
// traces and from counter thresholds show up in `crmwatch alerts list`.
// Remote trace control works on the farm: each host obeys the settings
// file its agent writes.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/run"

	"crmwatch/agent"
	"crmwatch/alerts/orgs"
	"crmwatch/collectors"
	"crmwatch/collectors/eventlog"
	"crmwatch/collectors/perfcounters"
	"crmwatch/collectors/tracefiles"
	notifyconfig "crmwatch/notify/config"
	"crmwatch/secret"
	"crmwatch/server"
	"crmwatch/simulate"
	"crmwatch/store/sqlstore"

	"crmwatch/event"
)

// Defaults (the one source of them; the command line shows these).
const (
	DefaultFault      = simulate.FaultSQLTimeouts
	DefaultFaultAfter = 5 * time.Second
	DefaultHosts      = 3
	// DefaultCounterInterval is how often the demo's agents read counters
	// (faster than the 15s of production, so alerts show within seconds).
	DefaultCounterInterval = 5 * time.Second
)

// Options configure the demo.
type Options struct {
	// DataDir keeps the store, the NATS store, the simulated farm's files,
	// the agents' checkpoints and the admin token (default crmwatch-data).
	// Reusing it keeps the alerts of earlier runs.
	DataDir string
	// Listen is the HTTP API address (default 127.0.0.1:9470).
	Listen string
	// NATSListen is the embedded NATS address (default 127.0.0.1:4247).
	NATSListen string
	// Duration stops the demo after this long; 0 runs until ctx ends.
	Duration time.Duration
	// Hosts is the number of simulated CRM servers (default 3, each with a
	// different role mix).
	Hosts int
	// Fault is injected FaultAfter after the start (default sql-timeouts
	// after 5s); "none" injects nothing.
	Fault      string
	FaultAfter time.Duration
	// Out receives the addresses, the token and what to try (default stdout).
	Out io.Writer
	// CLI is how the banner tells the operator to run crmwatch (default
	// CLICommand: "crmwatch" on PATH, else "go run ./cmd/crmwatch" in the
	// checkout).
	CLI string
	// Backfill is how much capacity history is written into a store that
	// has none, beside the running demo (default 30 days; negative: none).
	Backfill time.Duration
	// Notify configures notifications (the --webhook shortcut).
	Notify  notifyconfig.Section
	Version string
	Logger  *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.DataDir == "" {
		o.DataDir = sqlstore.DefaultDataDir
	}
	if o.Hosts <= 0 {
		o.Hosts = DefaultHosts
	}
	if o.Fault == "" {
		o.Fault = DefaultFault
	}
	if o.FaultAfter <= 0 {
		o.FaultAfter = DefaultFaultAfter
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.CLI == "" {
		o.CLI = CLICommand()
	}
	if o.Backfill == 0 {
		o.Backfill = DefaultBackfill
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Run runs the demo until ctx ends or Duration passed, then stops the
// agents and the farm first and the server last.
func Run(ctx context.Context, o Options) error {
	o = o.withDefaults()
	log := o.Logger.With("component", "demo")
	// The farm's files and the agents' checkpoints belong to one run: a new
	// farm starts new files, so old checkpoints would only point nowhere.
	// The store and NATS (alerts, operators) are kept.
	for _, d := range []string{farmDir(o), stateDir(o)} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("demo: clean %s: %w", d, err)
		}
	}
	// Each simulated host obeys the settings file its agent's trace control
	// writes (<state>/<host>/trace-settings.json), as a CRM server obeys its
	// registry: `crmwatch trace set` really changes what the farm traces.
	farm, err := simulate.New(simulate.Options{Out: farmDir(o), Hosts: o.Hosts, Seed: time.Now().UnixNano(),
		SettingsDir: stateDir(o), Logger: o.Logger})
	if err != nil {
		return err
	}
	names, err := writeOrgNames(o, farm)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{DataDir: o.DataDir, Listen: o.Listen, NATSListen: o.NATSListen,
		OrgNames: names, Notify: o.Notify, Version: o.Version, Logger: o.Logger})
	if err != nil {
		return err
	}
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(srvCtx) }()
	select {
	case <-srv.Started():
	case err := <-srvDone:
		return err
	case <-ctx.Done():
		stopSrv()
		return <-srvDone
	}

	bfCtx, stopBackfill := context.WithCancel(ctx)
	bfDone := make(chan struct{})
	go func() {
		defer close(bfDone)
		if o.Backfill <= 0 {
			return
		}
		st, ok := srv.Store().(*sqlstore.Store)
		if !ok {
			return
		}
		if err := backfillIfEmpty(bfCtx, st, o.Backfill, o.Hosts, log); err != nil && bfCtx.Err() == nil {
			log.Warn("capacity history not back-filled", "err", err)
		}
	}()
	err = runFarm(ctx, o, srv, farm, srvDone, log)
	stopBackfill()
	<-bfDone
	log.Info("stopping the server")
	stopSrv()
	if serr := <-srvDone; serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// runFarm runs the farm, the agents and the fault injector as one run
// group, next to a running server.
func runFarm(ctx context.Context, o Options, srv *server.Server, farm *simulate.Farm, srvDone chan error, log *slog.Logger) error {
	tok, opName, err := adminToken(ctx, srv.Store(), o.DataDir, time.Now())
	if err != nil {
		return err
	}
	agents, err := newAgents(o, farm, srv.NATSURL())
	if err != nil {
		return err
	}

	var g run.Group
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Add(func() error { <-gctx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error {
		select {
		case err := <-srvDone:
			srvDone <- err // Run reports it
			return errors.New("demo: the server stopped")
		case <-gctx.Done():
			return nil
		}
	}, func(error) { cancel() })
	g.Add(func() error { return farm.Run(gctx) }, func(error) { cancel() })
	for _, a := range agents {
		g.Add(func() error { return a.Run(gctx) }, func(error) { cancel() })
	}
	if o.Fault != "none" {
		g.Add(func() error { return injectLater(gctx, farm, o.Fault, o.FaultAfter, log) }, func(error) { cancel() })
	}
	if o.Duration > 0 {
		g.Add(func() error {
			t := time.NewTimer(o.Duration)
			defer t.Stop()
			select {
			case <-t.C:
				log.Info("demo duration reached", "duration", o.Duration)
			case <-gctx.Done():
			}
			return nil
		}, func(error) { cancel() })
	}
	g.Add(func() error {
		printWelcome(gctx, o, srv, farm, agents, opName, tok.Reveal())
		<-gctx.Done()
		return nil
	}, func(error) { cancel() })
	return g.Run()
}

// newAgents builds an agent per simulated host (its trace folder and its
// simulated counters), per simulated SQL server (counters only) and one
// for this machine (its own counters, from /proc on Linux).
func newAgents(o Options, farm *simulate.Farm, natsURL secret.URL) ([]*agent.Agent, error) {
	interval := agent.Override{Key: "collectors.perfcounters.interval", Value: DefaultCounterInterval.String(), Flag: "demo"}
	var out []*agent.Agent
	add := func(name string, roles []event.Role, tc agent.TraceControl, set []agent.Override, facs ...collectors.Factory) error {
		names := event.RoleStrings(roles)
		if len(names) == 0 {
			names = []string{"none"}
		}
		a, err := agent.New(agent.Options{
			NATS: natsURL, Name: name, Roles: names, Set: append(set, interval),
			StateDir: filepath.Join(stateDir(o), name), HeartbeatEvery: 5 * time.Second, TraceControl: tc,
			Factories: facs, Version: o.Version, Logger: o.Logger, MetricsListen: "127.0.0.1:0",
		})
		if err != nil {
			return fmt.Errorf("demo: agent for %s: %w", name, err)
		}
		out = append(out, a)
		return nil
	}
	// Trace control only where there are trace files: the simulated CRM
	// servers obey the settings file it writes.
	off := agent.TraceControl{Store: agent.TraceStoreOff}
	for _, h := range append(farm.Hosts(), farm.SQLServers()...) {
		var set []agent.Override
		tc := off
		facs := []collectors.Factory{perfcounters.NewFactory(perfcounters.WithSource(farmSource(farm, h.Name)))}
		if h.TraceDir != "" {
			set = agent.TraceDirOverrides(h.TraceDir)
			tc = agent.TraceControl{Store: agent.TraceStoreFile, Dir: h.TraceDir}
			facs = append(facs, tracefiles.NewFactory())
		}
		if h.EventLogDir != "" {
			// The simulator writes the faults' CRM event-log entries as
			// rendered XML files; the agent imports them from its drop folder.
			set = append(set, agent.Override{Key: "collectors.eventlog.live", Value: false, Flag: "demo"},
				agent.Override{Key: "collectors.eventlog.drop_dir", Value: h.EventLogDir, Flag: "demo"},
				agent.Override{Key: "collectors.eventlog.poll_interval", Value: "500ms", Flag: "demo"})
			facs = append(facs, eventlog.NewFactory())
		}
		if err := add(h.Name, h.Roles, tc, set, facs...); err != nil {
			return nil, err
		}
	}
	if local, ok := localHost(); ok {
		set := []agent.Override{{Key: "collectors.perfcounters.counters", Value: []any{map[string]any{"paths": localCounters}}, Flag: "demo"}}
		// This machine is no CRM server: it has no roles on purpose (none).
		if err := add(local, nil, off, set, perfcounters.NewFactory()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func injectLater(ctx context.Context, farm *simulate.Farm, fault string, after time.Duration, log *slog.Logger) error {
	t := time.NewTimer(after)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	if err := farm.Inject(fault, 0); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	log.Info("fault injected; watch the alert's repeat count grow", "fault", fault)
	<-ctx.Done()
	return nil
}

// printWelcome tells the operator where everything is, once the agents'
// /metrics listen (or after a few seconds without them).
func printWelcome(ctx context.Context, o Options, srv *server.Server, farm *simulate.Farm, agents []*agent.Agent, opName, token string) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && ctx.Err() == nil; {
		ready := true
		for _, a := range agents {
			ready = ready && a.MetricsAddr() != ""
		}
		if ready {
			break
		}
		time.Sleep(20 * time.Millisecond) // the agents start their listeners within milliseconds
	}
	metrics := map[string]string{}
	for _, a := range agents {
		if addr := a.MetricsAddr(); addr != "" {
			metrics[a.Name()] = "http://" + addr + "/metrics"
		}
	}
	w := o.Out
	fmt.Fprintf(w, "crmwatch demo is running\n")
	fmt.Fprintf(w, "  console:         http://%s/ (sign in with the token below)\n", srv.HTTPAddr())
	fmt.Fprintf(w, "  API:             http://%s/api/v1/alerts\n", srv.HTTPAddr())
	fmt.Fprintf(w, "  NATS:            %s\n", srv.NATSURL())
	fmt.Fprintf(w, "  operator:        %s (admin)\n", opName)
	fmt.Fprintf(w, "  token:           %s\n", token)
	fmt.Fprintf(w, "                   (saved in %s)\n", filepath.Join(o.DataDir, TokenFile))
	fmt.Fprintf(w, "  simulated hosts (trace folder; counters every %s on the agent's /metrics):\n", DefaultCounterInterval)
	for _, h := range append(farm.Hosts(), farm.SQLServers()...) {
		fmt.Fprintf(w, "    %-10s %-40s %s\n", h.Name, strings.Join(event.RoleStrings(h.Roles), ","), cmpOr(h.TraceDir, "(counters only)"))
		fmt.Fprintf(w, "    %-10s %-40s %s\n", "", "", metrics[h.Name])
	}
	if local, ok := localHost(); ok && metrics[local] != "" {
		fmt.Fprintf(w, "  this machine:    %s, real counters (no CRM role) on %s\n", local, metrics[local])
	}
	if o.Fault != "none" {
		fmt.Fprintf(w, "The %s fault starts in %s. Then try:\n", o.Fault, o.FaultAfter)
	} else {
		fmt.Fprintf(w, "Try:\n")
	}
	fmt.Fprintf(w, "  export CRMWATCH_URL=http://%s CRMWATCH_TOKEN=$(cat %s)\n", srv.HTTPAddr(), filepath.Join(o.DataDir, TokenFile))
	fmt.Fprintf(w, "  %s alerts list\n", o.CLI)
	fmt.Fprintf(w, "  %s agents list\n", o.CLI)
	fmt.Fprintf(w, "  %s trace set --role AppServer --categories 'Platform.Sql:Verbose;*:Error' --callstack --for 10m\n", o.CLI)
	fmt.Fprintf(w, "  %s trace status\n", o.CLI)
	fmt.Fprintf(w, "Ctrl-C stops everything.\n")
}

// OrgNamesFile is where the demo writes the simulated farm's organization
// names (GUID → name), which the server shows beside the GUIDs.
const OrgNamesFile = "organizations.yaml"

func writeOrgNames(o Options, farm *simulate.Farm) (string, error) {
	names := map[string]string{}
	for _, org := range farm.Orgs() {
		names[org.ID] = org.Name
	}
	p := filepath.Join(o.DataDir, OrgNamesFile)
	if err := orgs.Write(p, names); err != nil {
		return "", fmt.Errorf("demo: write organization names: %w", err)
	}
	return p, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func farmDir(o Options) string  { return filepath.Join(o.DataDir, "demo-farm") }
func stateDir(o Options) string { return filepath.Join(o.DataDir, "demo-agents") }
