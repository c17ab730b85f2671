package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/collectors"
	"crmwatch/collectors/eventlog"
	"crmwatch/secret"
)

// TestEventLogDropFolderOnMetrics runs the agent with collectors.eventlog
// watching a drop folder: a dropped wevtutil export reaches JetStream and
// the collector's duration, success, dropped and malformed series are on
// the agent's /metrics.
func TestEventLogDropFolderOnMetrics(t *testing.T) {
	natsURL, js, names := startJetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drop := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	writeFile(t, cfg, "collectors:\n  eventlog:\n    live: false\n    drop_dir: '"+drop+"'\n    poll_interval: 100ms\n")
	a, err := New(Options{NATS: secret.MustURL(natsURL), Name: "CRMAPP01", Roles: []string{"AppServer"},
		ConfigFile: cfg, StateDir: t.TempDir(), MetricsListen: "127.0.0.1:0", HeartbeatEvery: time.Hour,
		Factories: []collectors.Factory{eventlog.NewFactory()}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b, err := os.ReadFile("../collectors/eventlog/testdata/xml/wevtutil-crm.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(drop, "Application.xml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	stream, _ := js.Stream(ctx, names.EventsStream())
	// The import's counters move before the pass's duration and success
	// are recorded: wait for all of them.
	wants := []string{
		`crmwatch_eventlog_events_total{collector="eventlog",outcome="shipped"} 4`,
		`crmwatch_eventlog_duration_seconds_count{collector="eventlog",mode="files"} 1`,
		`crmwatch_eventlog_success{collector="eventlog",mode="files"} 1`,
		`crmwatch_eventlog_dropped_total{collector="eventlog",reason="corrupt"} 0`,
		`crmwatch_eventlog_malformed_total{collector="eventlog"} 0`,
		`crmwatch_eventlog_files_total{collector="eventlog",outcome="imported"} 1`,
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var page string
		if addr := a.MetricsAddr(); addr != "" {
			page = string(scrape(t, "http://"+addr+"/metrics"))
		}
		var missing []string
		for _, want := range wants {
			if !strings.Contains(page, want) {
				missing = append(missing, want)
			}
		}
		info, _ := stream.Info(ctx)
		if info != nil && info.State.Msgs >= 1 && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20s of the drop, /metrics lacks %q (events stream holds %v):\n%s", missing, info != nil && info.State.Msgs >= 1, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
