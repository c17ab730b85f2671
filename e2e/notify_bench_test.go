package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/agent"
	"crmwatch/collectors"
	"crmwatch/collectors/tracefiles"
	"crmwatch/notify/alertmanager/amtest"
	"crmwatch/secret"
	"crmwatch/server"

	notifyconfig "crmwatch/notify/config"
)

// BenchmarkFaultToAlertmanager measures what the NOC waits for when it
// watches Alertmanager: an error record appended to a tailed CRM trace file
// → the alert active in Debian's Alertmanager, through the real agent,
// embedded JetStream, the evaluator, SQLite, the alert-changes stream and
// the notification pipeline (the server started with --alertmanager). Each
// iteration raises a new alert (a new organization). It reports p50 and
// p99 in milliseconds; the target is p99 < 1 s.
func BenchmarkFaultToAlertmanager(b *testing.B) {
	am := amtest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n notifyconfig.Section
	server.AddShortcut(&n, server.AlertmanagerShortcut(secret.MustURL(am.URL)))
	srv, stop, err := server.Start(ctx, server.Options{DataDir: b.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", Notify: n})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dir := b.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, "w3wp-CRMAPP01-20261129-1.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	a, err := agent.New(agent.Options{NATS: srv.NATSURL(), Name: "CRMAPP01", Roles: []string{"AppServer"},
		Set: agent.TraceDirOverrides(dir), StateDir: b.TempDir(), Factories: []collectors.Factory{tracefiles.NewFactory()}})
	if err != nil {
		b.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()
	defer func() { cancel(); <-agentDone }()

	// Warm up until the agent follows the file and the pipeline delivers.
	for i := 0; ; i++ {
		org := fmt.Sprintf("warm-up-%d", i)
		writeRecord(b, f, org)
		if _, ok := pollAlertmanager(am.URL, org, time.Now(), time.Second); ok {
			break
		}
		if i == 30 {
			b.Fatal("no alert in Alertmanager within 30s of warm-up records")
		}
	}
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		org := fmt.Sprintf("org-%08d", i)
		start := time.Now()
		writeRecord(b, f, org)
		at, ok := pollAlertmanager(am.URL, org, start, 30*time.Second)
		if !ok {
			b.Fatalf("the alert of %s did not reach Alertmanager within 30s", org)
		}
		took = append(took, at.Sub(start))
	}
	b.StopTimer()
	report(b, "alertmanager", took)
}

// pollAlertmanager asks Alertmanager every 5 ms for the active alert of
// org and returns when it was first there.
func pollAlertmanager(base, org string, start time.Time, within time.Duration) (time.Time, bool) {
	q := base + "/api/v2/alerts?active=true&filter=" + url.QueryEscape(`organization_id="`+org+`"`)
	for time.Since(start) < within {
		resp, err := http.Get(q)
		if err == nil {
			var as []json.RawMessage
			err = json.NewDecoder(resp.Body).Decode(&as)
			resp.Body.Close()
			if err == nil && len(as) > 0 {
				return time.Now(), true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Time{}, false
}
