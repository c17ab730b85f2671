package tracefiles

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/transport"
)

// crmRecord is a CRM trace record at Error level whose message carries n.
func crmRecord(n int) string {
	return fmt.Sprintf("[2024-05-01 10:00:%02d.000] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread: 13 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Error |ReqId: | CrmDbConnection.InternalExecuteReader ilOffset = 0x16\r\n"+
		"\tat CrmDbConnection.InternalExecuteReader(IDbCommand command)  ilOffset = 0x16\r\n>rec %d\r\n", n%60, n)
}

func crmRecords(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(crmRecord(i))
	}
	return b.String()
}

const crmHeader = "# CRM Tracing File\r\n# ComputerName: CRM01\r\n# ServerRole: AppServer\r\n"

// runUntil runs a collector over dir until cond holds on what the sink got.
func runUntil(t *testing.T, cfg *Config, set collectors.Settings, sink collectors.Sink, what string, cond func() bool) {
	t.Helper()
	c, err := NewFactory().New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// messages counts the events per message text.
func messages(s *countingSink) map[string]int {
	got := map[string]int{}
	for _, ev := range s.snapshot() {
		got[ev.Message]++
	}
	return got
}

// TestRotatedPatternsRecoverThroughCollector: the agent stops, the trace
// file grows, is copied to a name outside the pattern and truncated
// (copytruncate), and the writer goes on. With rotated_patterns naming the
// copy, the restarted collector ships every record exactly once.
func TestRotatedPatternsRecoverThroughCollector(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-1.log")
	if err := os.WriteFile(p, []byte(crmHeader+crmRecords(0, 5)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := withDirs(DefaultConfig(), dir)
	cfg.MinLevel, cfg.RotatedPatterns = "verbose", []string{"*.log.1"}
	sink := &countingSink{}
	set := collectors.Settings{Host: "h", StateDir: state, Registerer: prometheus.NewRegistry()}
	runUntil(t, cfg, set, sink, "the first 5 records", func() bool { return len(sink.snapshot()) == 5 })
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(crmRecords(5, 9))
	_ = f.Close()
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(crmRecords(9, 12)), 0o644); err != nil { // truncated, then written on
		t.Fatal(err)
	}
	set.Registerer = prometheus.NewRegistry()
	runUntil(t, cfg, set, sink, "all 12 records", func() bool { return len(sink.snapshot()) >= 12 })
	got := messages(sink)
	for i := range 12 {
		if n := got[fmt.Sprintf("rec %d", i)]; n != 1 {
			t.Errorf("rec %d shipped %d times, want once", i, n)
		}
	}
	if len(sink.snapshot()) != 12 {
		t.Errorf("%d events, want 12", len(sink.snapshot()))
	}
}

func TestRotatedPatternsValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dirs = []string{"/trace"}
	cfg.RotatedPatterns = []string{"*.log.1", "[", "", "*.log"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`rotated_patterns[1] "["`, `rotated_patterns[2] ""`, `rotated_patterns[3] "*.log": is the pattern itself`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "rotated_patterns[0]") {
		t.Errorf("a valid pattern reported: %v", err)
	}
}

// TestLateContinuationIsNotShipped: a writer that pauses inside a record
// longer than idle_flush has its record shipped with the lines written so
// far; the lines after the pause are counted as a late continuation and
// never shipped as an event of their own (nor counted malformed).
func TestLateContinuationIsNotShipped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	rec := crmRecord(1)
	head, body, _ := strings.Cut(rec, "\r\n")
	if err := os.WriteFile(p, []byte(crmHeader+head+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := withDirs(DefaultConfig(), dir)
	cfg.MinLevel = "verbose"
	reg := prometheus.NewRegistry()
	sink := &countingSink{}
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "h", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("the head", func() bool { return len(sink.snapshot()) == 1 })
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(body + crmRecord(2))
	_ = f.Close()
	wait("the next record", func() bool { return len(sink.snapshot()) == 2 })
	cancel()
	<-done
	evs := sink.snapshot()
	if evs[0].Message != "" || evs[1].Message != "rec 2" {
		t.Errorf("messages %q, %q; want the head alone, then rec 2", evs[0].Message, evs[1].Message)
	}
	if got := metric(t, reg, "crmwatch_tracefiles_records_total", outcomeLateContinuation); got != 1 {
		t.Errorf("late continuations = %v, want 1", got)
	}
	if got := metric(t, reg, "crmwatch_tracefiles_records_total", outcomeMalformed); got != 0 {
		t.Errorf("malformed = %v, want 0", got)
	}
}

// TestHugeFirstLineReachesTheTransport: records whose head line alone is
// over max_record_bytes — the operation or the message written on the head
// line — are shipped through a real publisher to embedded JetStream cut
// and marked truncated; before, the transport refused such an event as
// larger than a message and it was dropped.
func TestHugeFirstLineReachesTheTransport(t *testing.T) {
	e, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{e.ClientURL()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	if err := transport.Setup(context.Background(), js, names, transport.StreamLimits{}); err != nil {
		t.Fatal(err)
	}
	pubReg := prometheus.NewRegistry()
	pub, err := transport.NewPublisher(transport.PublisherOptions{JS: js, Names: names, Registerer: pubReg})
	if err != nil {
		t.Fatal(err)
	}
	head := "[2024-05-01 10:00:00.000] Process: w3wp |Organization:11a5abbd-36aa-de11-8729-00155d00050c |Thread: 13 |Category: Platform |User: u |Level: Error |ReqId: | "
	hugeOp := head + "Op" + strings.Repeat("o", 1500<<10) + "\r\n>rec op\r\n"
	hugeMsg := head + "Op >" + strings.Repeat("m", 1500<<10) + "\r\n"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte(crmHeader+crmRecord(0)+hugeOp+hugeMsg+crmRecord(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := withDirs(DefaultConfig(), dir)
	sink := &countingSink{}
	tee := collectors.SinkFunc(func(ctx context.Context, b event.Batch) error {
		if err := pub.Emit(ctx, b); err != nil {
			return err
		}
		return sink.Emit(ctx, b)
	})
	runUntil(t, cfg, collectors.Settings{Host: "h", Registerer: prometheus.NewRegistry()}, tee, "4 events", func() bool { return len(sink.snapshot()) == 4 })
	if got := metric(t, pubReg, "crmwatch_transport_publish_dropped_total", ""); got != 0 {
		t.Errorf("the transport dropped %v events", got)
	}
	if got := metric(t, pubReg, "crmwatch_transport_published_observations_total", ""); got != 4 {
		t.Errorf("%v events acknowledged by JetStream, want 4", got)
	}
	evs := sink.snapshot()
	for i, ev := range evs[1:3] {
		if ev.Fields["truncated"] != "true" {
			t.Errorf("huge record %d not marked truncated", i)
		}
		size := len(ev.Message)
		for k, v := range ev.Fields {
			size += len(k) + len(v)
		}
		if size > maxEventBytes+64 {
			t.Errorf("huge record %d carries %d bytes of text, want ≤ %d", i, size, maxEventBytes)
		}
	}
	if evs[0].Message != "rec 0" || evs[3].Message != "rec 1" {
		t.Errorf("the records around the huge ones: %q, %q", evs[0].Message, evs[3].Message)
	}
}
