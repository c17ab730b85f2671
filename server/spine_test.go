package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/access"
	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
	"crmwatch/event"
	"crmwatch/secret"
	"crmwatch/store"
	"crmwatch/store/sqlstore/pgtest"
	"crmwatch/transport"
	"crmwatch/transport/natstest"
)

// seqPack raises one alert per sequence-numbered record (message
// "seq=N"), so every record lost shows as a missing alert and every record
// counted twice as a repeat count of 2.
const seqPack = `format: crmwatch.pack/v1
name: seq
version: 1.0.0
description: One alert per sequence-numbered record (delivery tests).
roles: [AppServer]
`

const seqRules = `rules:
  - id: seq.record
    kind: event
    severity: warning
    summary: 'record {{.Fields.seq}}'
    knowledge: {cause: a test record, resolution: none}
    group_by: [seq]
    resolve_after: 24h
    reopen_within: 0s
    event: {sources: [trace], message: '^seq=(?P<seq>[0-9]+)$'}
`

func seqPackDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pack.yaml"), seqPack)
	writeFile(t, filepath.Join(dir, "rules", "seq.yaml"), seqRules)
	return dir
}

// seqBatch is records from..from+n-1 of one agent file.
func seqBatch(host, fp string, from, n int) event.Batch {
	b := event.Batch{Host: host}
	for i := from; i < from+n; i++ {
		b.Events = append(b.Events, event.Event{Time: time.Now(), Host: host, Role: "AppServer", Source: event.SourceTrace,
			Level: event.LevelWarning, Category: "Platform", Message: "seq=" + strconv.Itoa(i),
			Origin: event.Origin{Collector: "tracefiles", File: "seq.log", Fingerprint: fp, Offset: int64(i) * 100}})
	}
	return b
}

// checkSeq waits until seq.record has exactly want alerts, each with one
// repeat and one event, and names what is missing or doubled otherwise.
func checkSeq(t *testing.T, st store.Alerts, want int, within time.Duration) {
	t.Helper()
	var page store.AlertPage
	deadline := time.Now().Add(within)
	for {
		var err error
		page, err = st.Alerts(context.Background(), store.AlertFilter{Rule: "seq.record", Limit: want + 100})
		if err == nil && len(page.Alerts) >= want {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]int{}
	var doubled []string
	for _, a := range page.Alerts {
		seq := a.Fields["seq"]
		seen[seq]++
		if a.RepeatCount != 1 || a.EventCount != 1 {
			doubled = append(doubled, fmt.Sprintf("%s (repeats %d, events %d)", seq, a.RepeatCount, a.EventCount))
		}
	}
	var missing []int
	for i := range want {
		if seen[strconv.Itoa(i)] != 1 {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 || len(doubled) > 0 || len(page.Alerts) != want {
		t.Fatalf("%d alerts for %d records: missing %d %v, counted twice %d %v", len(page.Alerts), want,
			len(missing), head(missing), len(doubled), head(doubled))
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 10)] }

// TestExactlyOnceAcrossGracefulStops stops and restarts the server three
// times while an agent publishes 3,000 sequence-numbered records (the
// embedded NATS goes down with it, so the publisher waits and retries): every
// record counts exactly once. Before the evaluator committed stream
// positions with its changes, a stop under load counted a batch twice.
func TestExactlyOnceAcrossGracefulStops(t *testing.T) {
	dir, packs := t.TempDir(), seqPackDir(t)
	opts := Options{DataDir: dir, Listen: "127.0.0.1:0", NATSListen: freeAddr(t), PackDirs: []string{packs},
		TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second, Logger: testLogger(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, stop, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	pub := publisherTo(t, srv.NATSURL().Reveal())
	const total, per = 3000, 50
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i += per {
			if err := pub.Emit(ctx, seqBatch("CRMAPP01", "fp-seq", i, per)); err != nil {
				done <- err
				return
			}
			sent.Add(per)
		}
		done <- nil
	}()
	for restart := 1; restart <= 3; restart++ {
		for sent.Load() < int64(restart*total/4) {
			time.Sleep(5 * time.Millisecond)
		}
		if err := stop(); err != nil {
			t.Fatalf("stop %d: %v", restart, err)
		}
		if srv, stop, err = Start(ctx, opts); err != nil {
			t.Fatalf("restart %d: %v", restart, err)
		}
	}
	defer stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkSeq(t, srv.Store(), total, 60*time.Second)
}

// TestTwoServersOneTruth runs two servers on one NATS and one PostgreSQL:
// one evaluates at a time, so 400 alternating events of one key make one
// alert with 400 repeats, and the sequence records count once each — also
// after the evaluating server stops mid-stream and the other takes over.
func TestTwoServersOneTruth(t *testing.T) {
	dsn := pgtest.DSN(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	runTwoServers(t, nats.ClientURL(), "", dsn)
}

// TestTwoServersOnTheMachinesNATS is the same with the machine's own NATS
// server (127.0.0.1:4222) under a prefix of its own.
func TestTwoServersOnTheMachinesNATS(t *testing.T) {
	dsn := pgtest.DSN(t)
	url, prefix := natstest.Prefix(t, "spine")
	runTwoServers(t, url, prefix, dsn)
}

func runTwoServers(t *testing.T, natsURL, prefix, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	packs := seqPackDir(t)
	start := func() (*Server, func() error) {
		srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(natsURL), Store: secret.MustURL(dsn),
			Prefix: prefix, StreamMaxBytes: natstest.StreamMaxBytes, PackDirs: []string{packs}, TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second,
			Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return srv, stop
	}
	a, stopA := start()
	b, stopB := start()
	defer func() { _ = stopB() }()
	pub := prefixedPublisher(t, natsURL, prefix)

	const total, per = 2000, 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < total; i += per {
			if err := pub.Emit(ctx, seqBatch("CRMAPP01", "fp-a", i, per)); err != nil {
				t.Error(err)
				return
			}
			if i == total/2 {
				_ = stopA() // the first server (the evaluator, it started first) stops mid-stream
			}
		}
	})
	// Alternating hosts, one key (group_by organization only in this rule
	// would be the same); the built-in sql-error rule keys host and
	// organization, so one host's 400 events make one alert.
	wg.Go(func() {
		for i := range 10 {
			if err := pub.Emit(ctx, sqlErrors("CRMAPP02", "fp-sql", i*40, 40)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	checkSeq(t, b.Store(), total, 60*time.Second)
	waitFor(t, func() bool {
		page, err := b.Store().Alerts(context.Background(), store.AlertFilter{Rule: "crm.trace.sql-error"})
		return err == nil && len(page.Alerts) == 1 && page.Alerts[0].RepeatCount == 400
	}, "one crm.trace.sql-error alert with exactly 400 repeats")
	p, err := b.Store().Progress(context.Background())
	if err != nil || p.Epoch < 2 {
		t.Fatalf("progress %+v %v: the second server should have taken the evaluator role", p, err)
	}
	_ = a
}

func prefixedPublisher(t *testing.T, url, prefix string) *transport.Publisher {
	t.Helper()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{url}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames(prefix)
	pub, err := transport.NewPublisher(transport.PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestNoSpuriousAgentMissingAfterOutage: agents heartbeat, the server is
// down for longer than the missing-agent rule's after (2s here, through an
// override), and comes back. The agents that resume are not paged; the one
// that stays silent is, after the grace period counted from the restart.
func TestNoSpuriousAgentMissingAfterOutage(t *testing.T) {
	dir := t.TempDir()
	over := filepath.Join(t.TempDir(), "overrides.yaml")
	writeFile(t, over, "format: crmwatch.overrides/v1\noverrides:\n  - {rule: crm.agent.missing, after: 2s}\n")
	opts := Options{DataDir: dir, Listen: "127.0.0.1:0", NATSListen: freeAddr(t), Overrides: []string{over},
		TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, stop, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	beat := func(url string, hosts ...string) {
		nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{url}, WaitFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		names, _ := transport.NewNames("")
		ag, err := transport.OpenAgents(ctx, js, names)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			if err := ag.Put(ctx, transport.Registration{Name: h, Roles: []string{"AppServer"}, LastHeartbeat: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	beat(srv.NATSURL().Reveal(), "CRMAPP01", "CRMAPP02")
	time.Sleep(500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // down for twice the rule's after
	srv, stop, err = Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	restarted := time.Now()
	missing := func() []alerts.Alert {
		page, err := srv.Store().Alerts(context.Background(), store.AlertFilter{Rule: "crm.agent.missing", States: []alerts.State{alerts.StateNew}})
		if err != nil {
			t.Fatal(err)
		}
		return page.Alerts
	}
	for time.Since(restarted) < 1500*time.Millisecond { // CRMAPP01 resumes; nobody is paged yet
		beat(srv.NATSURL().Reveal(), "CRMAPP01")
		if m := missing(); len(m) > 0 {
			t.Fatalf("paged %v %.1fs after the restart: the server's own downtime counted against the agents", m[0].Hosts, time.Since(restarted).Seconds())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var got []alerts.Alert
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		beat(srv.NATSURL().Reveal(), "CRMAPP01")
		if got = missing(); len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0].Hosts[0] != "CRMAPP02" {
		t.Fatalf("missing-agent alerts %+v: want exactly CRMAPP02 (silent since before the outage)", got)
	}
	if d := got[0].FirstSeen.Sub(restarted); d < time.Second || d > 4*time.Second {
		t.Fatalf("CRMAPP02 judged missing %s after the restart; want about the rule's 2s", d)
	}
}

// TestChangesStreamAndSuppression: committed changes reach the
// alert-changes stream in order; an alert raised inside a silence is
// recorded as suppressed, and released when the silence expires.
func TestChangesStreamAndSuppression(t *testing.T) {
	srv, stop := running(t, t.TempDir())
	defer stop()
	ctx := context.Background()
	st := srv.Store()
	m, _ := suppress.ParseMatcher("host=CRMAPP09")
	sil := suppress.Silence{ID: "s1", Matchers: []suppress.Matcher{m}, Start: time.Now().Add(-time.Minute), End: time.Now().Add(time.Hour), Comment: "test"}
	if err := st.AddSilence(ctx, sil); err != nil {
		t.Fatal(err)
	}
	nudge(t, srv)
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{srv.NATSURL().Reveal()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	names, _ := transport.NewNames("")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := transport.NewReader(transport.ReaderOptions{JS: js, Stream: names.ChangesStream()}, transport.DecodeChange)
	go func() { _ = r.Run(rctx) }()

	pub := publisherTo(t, srv.NATSURL().Reveal())
	time.Sleep(300 * time.Millisecond) // let the evaluator read the silence
	if err := pub.Emit(ctx, sqlErrors("CRMAPP09", "fp9", 0, 2)); err != nil {
		t.Fatal(err)
	}
	first := nextChange(t, r)
	if first.Kind != alerts.ChangeRaised || first.Alert.SuppressedBy != "silence:s1" || first.Seq == 0 {
		t.Fatalf("first change %+v: want raised, suppressed by silence:s1", first)
	}
	if err := st.ExpireSilence(ctx, "s1", time.Now()); err != nil {
		t.Fatal(err)
	}
	nudge(t, srv)
	for {
		c := nextChange(t, r)
		if c.Seq <= first.Seq {
			t.Fatalf("change %d after %d: out of order", c.Seq, first.Seq)
		}
		if c.Kind == alerts.ChangeUnsuppressed {
			if c.Alert.SuppressedBy != "" || c.Alert.ID != first.Alert.ID {
				t.Fatalf("unsuppressed change %+v", c)
			}
			break
		}
	}
}

func nextChange(t *testing.T, r *transport.Reader[alerts.Committed]) alerts.Committed {
	t.Helper()
	select {
	case it := <-r.C():
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		return it.Value
	case <-time.After(15 * time.Second):
		t.Fatal("no alert change on the stream within 15s")
	}
	return alerts.Committed{}
}

// nudge tells the server's evaluator the suppressions changed, as the API does.
func nudge(t *testing.T, srv *Server) {
	t.Helper()
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{srv.NATSURL().Reveal()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	names, _ := transport.NewNames("")
	if err := nc.Publish(names.ControlSubject(topicSuppressions), nil); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
}

// freeAddr reserves a loopback port for an address that must be the same
// across restarts (the embedded NATS the publisher reconnects to).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReloadReachesEveryServer: an admin reloads the packs through the
// standby's API; the evaluating server reloads too, so the new rule
// raises alerts, and the reload is audited once.
func TestReloadReachesEveryServer(t *testing.T) {
	dsn := pgtest.DSN(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	packDir := t.TempDir()
	writeFile(t, filepath.Join(packDir, "pack.yaml"), extraPack)
	writeFile(t, filepath.Join(packDir, "rules", "a.yaml"), "rules: []\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var servers []*Server
	for range 2 {
		srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(nats.ClientURL()), Store: secret.MustURL(dsn),
			PackDirs: []string{packDir}, TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		servers = append(servers, srv)
	}
	writeFile(t, filepath.Join(packDir, "rules", "a.yaml"), "rules:\n"+sandboxRule)
	admin := operatorToken(t, servers[1], "alice", access.RoleAdmin)
	if code, body := post(t, "http://"+servers[1].HTTPAddr()+ReloadPath, admin); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	pub := publisherTo(t, nats.ClientURL())
	ev := event.Event{Time: time.Now(), Host: "CRMAPP01", Role: "AppServer", Source: event.SourceTrace, Level: event.LevelError,
		Category: "Sandbox", Message: "Access Denied", Origin: event.Origin{Collector: "test", Fingerprint: "fp-r", Offset: 1}}
	waitFor(t, func() bool {
		_ = pub.Emit(ctx, event.Batch{Host: "CRMAPP01", Events: []event.Event{ev}})
		ev.Origin.Offset++
		page, err := servers[0].Store().Alerts(ctx, store.AlertFilter{Rule: "extra.sandbox-error"})
		return err == nil && len(page.Alerts) == 1
	}, "the reloaded rule to raise on the evaluating server")
	log, _ := servers[0].Store().AuditLog(ctx, store.AuditFilter{})
	n := 0
	for _, e := range log {
		if e.Action == "packs.reload" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d packs.reload audit entries, want 1", n)
	}
}

// testLogger writes the server's warnings and errors into the test's
// output, where a failure shows them.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}
