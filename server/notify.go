package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/api"
	"crmwatch/notify"
	"crmwatch/notify/alertmanager"
	notifyconfig "crmwatch/notify/config"
	"crmwatch/notify/snmptrap"
	"crmwatch/notify/webhook"
	"crmwatch/secret"
	"crmwatch/store"
)

// Names of the receivers the shortcuts add.
const (
	ShortcutWebhook      = "webhook"
	ShortcutAlertmanager = "alertmanager"
	ShortcutSNMPTrap     = "snmp-trap"
)

// AddShortcut adds a receiver given by a command-line shortcut: it gets
// every alert, before the file's routes (which it does not change).
func AddShortcut(s *notifyconfig.Section, r notifyconfig.Receiver) {
	s.Receivers = append(s.Receivers, r)
	if len(s.Routes) > 0 {
		s.Routes = append([]notifyconfig.Route{{Receivers: []string{r.Name}, Continue: true}}, s.Routes...)
	}
}

// WebhookShortcut is the receiver of --webhook URL (unsigned; a signing
// secret needs the configuration file).
func WebhookShortcut(u secret.URL) notifyconfig.Receiver {
	return notifyconfig.Receiver{Name: ShortcutWebhook, Webhook: &webhook.Config{URL: u}}
}

// AlertmanagerShortcut is the receiver of --alertmanager URL.
func AlertmanagerShortcut(u secret.URL) notifyconfig.Receiver {
	return notifyconfig.Receiver{Name: ShortcutAlertmanager, Alertmanager: &alertmanager.Config{URL: u}}
}

// SNMPTrapShortcut is the receiver of --snmp-trap-target udp:HOST:PORT
// (SNMPv2c with the given community; v3 needs the configuration file).
func SNMPTrapShortcut(target string, community secret.Value) notifyconfig.Receiver {
	return notifyconfig.Receiver{Name: ShortcutSNMPTrap, SNMPTrap: &snmptrap.Config{Target: target, Community: community}}
}

// notifier is the server's notification side: one pipeline and consumer
// per receiver.
type notifier struct {
	receivers map[string]notify.Receiver
	consumers []*notify.Consumer
	durables  []jetstream.Consumer
	holder    string
	st        store.NotificationLog
	// failing and retention are the section's (defaulted) settings.
	failing   notify.Failing
	retention time.Duration
	log       *slog.Logger
}

// pruneEvery is how often each server prunes the notification log.
const pruneEvery = time.Hour

// healthFeed is what the evaluator feeds the rules engine about this
// server's receivers (their names, the failing policy, the shared log).
func (n *notifier) healthFeed() *notify.HealthFeed {
	return &notify.HealthFeed{Log: n.st, Receivers: n.names(), Failing: n.failing, Logger: n.log}
}

// startNotifier builds the receivers and creates their durable consumers
// (before the change publisher runs, so nothing published after the
// start is missed).
func (s *Server) startNotifier(ctx context.Context, js jetstream.JetStream, st store.NotificationLog, holder string, reg prometheus.Registerer) (*notifier, error) {
	b, err := s.o.Notify.Build()
	if err != nil {
		return nil, fmt.Errorf("server: notifications: %w", err)
	}
	m, err := notify.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	log := s.o.Logger.With("component", "notify")
	n := &notifier{receivers: map[string]notify.Receiver{}, holder: holder, st: st, failing: b.Failing, retention: b.LogRetention, log: log}
	for _, r := range b.Receivers {
		o := notify.PipelineOptions{Receiver: r, Router: b.Router, Log: st, Holder: holder,
			Hosts: notifyHosts{s}, ConsoleURL: b.ConsoleURL, Retry: b.Retry, Metrics: m, Logger: log}
		if s.orgNames != nil {
			o.OrgNames = s.orgNames
		}
		c := notify.NewConsumer(notify.ConsumerOptions{JS: js, Names: s.names, Pipeline: notify.NewPipeline(o), Logger: log})
		d, err := c.Ensure(ctx)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		n.receivers[r.Name()] = r
		n.consumers, n.durables = append(n.consumers, c), append(n.durables, d)
	}
	if len(b.Receivers) > 0 {
		names := make([]string, 0, len(b.Receivers))
		for _, r := range b.Receivers {
			names = append(names, r.Name()+" ("+r.Kind()+")")
		}
		log.Info("notifications on", "receivers", names)
	}
	return n, nil
}

// notifyHosts gives routes the roles agents announce and the server
// groups of the overrides files as they are now.
type notifyHosts struct{ s *Server }

func (h notifyHosts) Roles(host string) []string {
	return hostInfo{agents: h.s.agents}.Roles(host)
}

func (h notifyHosts) Groups(host string) []string { return h.s.hostGroups()[strings.ToLower(host)] }

// TestNotifyPath is the route of `crmwatch notify test RECEIVER`.
const TestNotifyPath = "/api/v1/notify/test/{receiver}"

// routes are the notification API routes: the receivers and a test send.
func (n *notifier) routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/api/v1/notify/receivers", Permission: access.PermRead, Handler: http.HandlerFunc(n.listReceivers)},
		{Method: "POST", Pattern: TestNotifyPath, Permission: access.PermAdmin, Handler: http.HandlerFunc(n.test)},
	}
}

func (n *notifier) listReceivers(w http.ResponseWriter, r *http.Request) {
	out := []api.ReceiverInfo{}
	health := map[string]store.ReceiverHealth{}
	if len(n.receivers) > 0 {
		hs, err := n.st.ReceiverHealth(r.Context())
		if err != nil {
			access.WriteError(w, http.StatusServiceUnavailable, "the receivers' health is not readable from the store; try again: "+err.Error())
			return
		}
		for _, h := range hs {
			health[h.Receiver] = h
		}
	}
	now := time.Now()
	for _, name := range n.names() {
		ri := api.ReceiverInfo{Name: name, Kind: n.receivers[name].Kind()}
		if h, ok := health[name]; ok {
			since := h.FailingSince
			ri.Failures, ri.FailingSince, ri.LastError, ri.Failing = h.Failures, &since, h.LastError, n.failing.Holds(h, now)
		}
		out = append(out, ri)
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *notifier) names() []string {
	names := make([]string, 0, len(n.receivers))
	for k := range n.receivers {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// test sends one test notification, once, straight to the receiver (not
// through the log), and answers with the outcome.
func (n *notifier) test(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("receiver")
	rcv, ok := n.receivers[name]
	if !ok {
		msg := fmt.Sprintf("receiver %q is not configured on this server", name)
		if len(n.receivers) == 0 {
			msg += "; configure receivers under notify: in --config, or start the server with --webhook URL"
		} else {
			msg += fmt.Sprintf(" (configured: %v)", n.names())
		}
		access.WriteError(w, http.StatusNotFound, msg)
		return
	}
	by := "operator"
	if op, ok := access.OperatorFrom(r.Context()); ok {
		by = op.Name
	}
	now := time.Now().UTC()
	a := alerts.Alert{ID: "test-" + now.Format("20060102T150405Z"), Rule: "crmwatch.notify.test", Severity: alerts.SeverityInfo,
		State: alerts.StateNew, RepeatCount: 1, FirstSeen: now, LastSeen: now, Hosts: []string{}, Organizations: []string{},
		Summary:   fmt.Sprintf("crmwatch test notification to %s, sent by %s", name, by),
		Knowledge: alerts.Knowledge{Cause: "`crmwatch notify test` was run.", Resolution: "Nothing to do: this proves the receiver works."}, Version: 1}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := rcv.Notify(ctx, []notify.Notification{{ID: a.ID, Kind: alerts.ChangeRaised, Status: notify.StatusFiring, Alert: a, At: now, Test: true}})
	res := api.NotifyTestResult{Receiver: name, Kind: rcv.Kind(), Result: store.DeliverySent, Took: time.Since(start).Round(time.Millisecond).String()}
	// A test that gets through ends a streak of refusals (and so the
	// alert about it); one refused counts like any other attempt.
	var text string
	if err != nil {
		text = err.Error()
	}
	if herr := n.st.RecordSend(context.WithoutCancel(ctx), name, err == nil, text, time.Now()); herr != nil {
		n.log.Debug("receiver health not recorded", "receiver", name, "err", herr)
	}
	if err != nil {
		res.Result, res.Error = store.DeliveryFailed, err.Error()
		writeJSON(w, http.StatusBadGateway, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// run runs every receiver's consumer until ctx ends.
func (n *notifier) run(ctx context.Context) error {
	pruned := make(chan struct{})
	go func() { defer close(pruned); notify.PruneLoop(ctx, n.st, n.retention, pruneEvery, n.log) }()
	defer func() { <-pruned }()
	errs := make(chan error, len(n.consumers))
	for i, c := range n.consumers {
		go func() { errs <- c.Run(ctx, n.durables[i]) }()
	}
	var all []error
	for range n.consumers {
		all = append(all, <-errs)
	}
	if len(n.consumers) == 0 {
		<-ctx.Done()
	}
	return errors.Join(all...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
