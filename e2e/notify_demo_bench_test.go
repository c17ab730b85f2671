package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/demo"
	"crmwatch/notify/alertmanager/amtest"
	"crmwatch/secret"
	"crmwatch/server"

	notifyconfig "crmwatch/notify/config"
)

// BenchmarkDemoFaultToAlertmanager is BenchmarkFaultToAlertmanager inside
// `crmwatch demo --alertmanager URL` itself: the demo's server, its
// simulated farm writing traces and counters, and its agents, one of which
// tails CRMAPP01's trace folder, where each iteration appends an SQL error
// for a new organization to a file of its own (named like the farm's, of
// today: the tailer follows the newest files); the clock stops when
// Debian's Alertmanager shows the alert active. The farm's own traffic
// (no fault injected) runs all along.
func BenchmarkDemoFaultToAlertmanager(b *testing.B) {
	am := amtest.Start(b)
	var n notifyconfig.Section
	server.AddShortcut(&n, server.AlertmanagerShortcut(secret.MustURL(am.URL)))
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{DataDir: dir, Listen: freeTCP(b), NATSListen: freeTCP(b), Fault: "none", Backfill: -1,
			Out: io.Discard, Notify: n, Logger: slog.New(slog.DiscardHandler)})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	// The demo lays its farm out under <data>/demo-farm/<host>/Trace.
	traceDir := filepath.Join(dir, "demo-farm", "CRMAPP01", "Trace")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(traceDir); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the demo wrote no %s within 60s", traceDir)
		}
	}
	f, err := os.OpenFile(filepath.Join(traceDir, "CRMAPP01-w3wp(99999#0000BE9C)-CRMWeb-"+time.Now().UTC().Format("20060102")+"-1.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for i := 0; ; i++ {
		org := fmt.Sprintf("warm-up-%d", i)
		writeRecord(b, f, org)
		if _, ok := pollAlertmanager(am.URL, org, time.Now(), time.Second); ok {
			break
		}
		if i == 60 {
			b.Fatal("no alert in Alertmanager within 60s of warm-up records")
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

func freeTCP(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
