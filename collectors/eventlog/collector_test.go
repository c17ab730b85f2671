package eventlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
)

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Live = false
	c.MinLevel = "loud"
	c.PollInterval = time.Millisecond
	c.BatchSize = 0
	c.Channels = []Channel{{Name: ""}, {Name: "System", Sources: []string{"a'b"}, MinLevel: "critical"}, {Name: "system"}}
	err := c.Validate()
	for _, want := range []string{
		"nothing to read: set drop_dir", `min_level "loud"`, "channels[0]: name is empty", `channels[1] (System) min_level "critical"`,
		`channels[1] (System) sources[0] "a'b"`, `channels[2]: "system" listed twice`, "poll_interval 1ms", "batch_size 0",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to say %q", err, want)
		}
	}
	ok := DefaultConfig()
	ok.Live, ok.DropDir = false, t.TempDir()
	if err := ok.Validate(); err != nil {
		t.Errorf("drop_dir alone: %v", err)
	}
	if _, err := NewFactory().New(&Config{Live: true, MinLevel: "warning", PollInterval: time.Second, BatchSize: 1}, collectors.Settings{}); err == nil && platformSource() == nil {
		t.Error("live without an event-log API must be refused")
	} else if err != nil && !strings.Contains(err.Error(), "set live: false and use drop_dir") {
		t.Errorf("live refused without saying what to do: %v", err)
	}
}

func TestApplyPlan(t *testing.T) {
	p := collectors.Plan{EventLog: []collectors.EventLogSpec{
		{Channel: "Application", Sources: []string{"MSCRMPlatform", "MSCRMWebService"}, MinLevel: "warning"},
		{Channel: "System", Sources: []string{"Service Control Manager"}},
	}}
	c := DefaultConfig()
	c.Live = true
	c.Channels = []Channel{{Name: "application", Sources: []string{"MyApp"}, MinLevel: "error"}}
	if !c.ApplyPlan(p) {
		t.Error("a plan with channels asks a live collector to run")
	}
	want := []Channel{{Name: "application", Sources: []string{"MyApp", "MSCRMPlatform", "MSCRMWebService"}, MinLevel: "warning"},
		{Name: "System", Sources: []string{"Service Control Manager"}}}
	if fmt.Sprint(c.Channels) != fmt.Sprint(want) {
		t.Errorf("channels %v, want %v", c.Channels, want)
	}
	if got := c.channels(); len(got) != 2 || got[1].MinLevel != "warning" {
		t.Errorf("resolved channels %v", got)
	}
	files := DefaultConfig()
	files.Live, files.DropDir = false, "x"
	if files.ApplyPlan(p) {
		t.Error("the plan's channels are read live: a files-only collector is not asked to run")
	}
	if got := (&Config{MinLevel: "warning"}).channels(); len(got) != 1 || got[0].Name != "Application" {
		t.Errorf("Application is always read: %v", got)
	}
}

func TestQuery(t *testing.T) {
	cases := []struct {
		sources []string
		level   event.Level
		want    string
	}{
		{[]string{"MSCRMPlatform", "MSCRMWebService"}, event.LevelWarning,
			"*[System[Provider[@Name='MSCRMPlatform' or @Name='MSCRMWebService'] and (Level=1 or Level=2 or Level=3)]]"},
		{nil, event.LevelError, "*[System[(Level=1 or Level=2)]]"},
		{[]string{"X"}, event.LevelInfo, "*[System[Provider[@Name='X'] and (Level=0 or Level=1 or Level=2 or Level=3 or Level=4)]]"},
		{nil, event.LevelVerbose, "*"},
	}
	for _, c := range cases {
		if got := Query(c.sources, c.level); got != c.want {
			t.Errorf("Query(%v, %v) = %s\nwant %s", c.sources, c.level, got, c.want)
		}
	}
}

// sink records acknowledged batches; fail makes it refuse.
type sink struct {
	mu     sync.Mutex
	events []event.Event
	fail   func(b event.Batch) error
}

func (s *sink) Emit(_ context.Context, b event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(b); err != nil {
			return err
		}
	}
	s.events = append(s.events, b.Events...)
	return nil
}

func (s *sink) snapshot() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs a collector from cfg until the returned stop is called.
func start(t *testing.T, cfg *Config, state string, src EventSource, s collectors.Sink, reg prometheus.Registerer) (stop func()) {
	t.Helper()
	var opts []Option
	if src != nil {
		opts = append(opts, WithEventSource(src))
	}
	col, err := NewFactory(opts...).New(cfg, collectors.Settings{Host: "agent-host", StateDir: state, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx, s) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func filesConfig(dir string) *Config {
	c := DefaultConfig()
	c.Live, c.DropDir, c.PollInterval, c.MinLevel = false, dir, 100*time.Millisecond, "info"
	return c
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDropFolderImportsEachFileOnce: files dropped are imported once, by
// content: a restart, a rename or a second copy imports nothing again; a
// new file is imported; a file that is not an event file is counted failed.
func TestDropFolderImportsEachFileOnce(t *testing.T) {
	drop, state := t.TempDir(), t.TempDir()
	copyFile(t, "testdata/xml/wevtutil-crm.xml", filepath.Join(drop, "app.xml"))
	if err := os.WriteFile(filepath.Join(drop, "notes.xml"), []byte("<notes/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	s := &sink{}
	stop := start(t, filesConfig(drop), state, nil, s, reg)
	waitFor(t, "the first file", func() bool { return len(s.snapshot()) == 4 })
	waitFor(t, "the broken file counted", func() bool {
		return testutil.ToFloat64(mustCounter(t, reg, "crmwatch_eventlog_files_total", "failed")) == 1
	})
	ev := s.snapshot()[0]
	if ev.Source != "MSCRMSandboxClient" || ev.Host != "CRMAPP01.contoso.local" || ev.Origin.Collector != Type || ev.Origin.Fingerprint == "" || ev.Origin.Offset != 1 {
		t.Errorf("first event %+v", ev)
	}
	stop()

	// Restart, a renamed copy and a second copy: nothing new.
	if err := os.Rename(filepath.Join(drop, "app.xml"), filepath.Join(drop, "renamed.xml")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(drop, "renamed.xml"), filepath.Join(drop, "again.XML"))
	copyFile(t, "testdata/xml/eventviewer-rendered.xml", filepath.Join(drop, "viewer.xml"))
	s2 := &sink{}
	stop = start(t, filesConfig(drop), state, nil, s2, nil)
	waitFor(t, "the new file", func() bool { return len(s2.snapshot()) == 2 })
	time.Sleep(400 * time.Millisecond) // a few more polls
	stop()
	if got := s2.snapshot(); len(got) != 2 || got[0].Source != "MSCRMPlatform" || got[1].EventID != 1102 {
		t.Errorf("after restart: %d events %v; want only the new file's 2", len(got), got)
	}
}

// counterValue is an unlabelled counter's value.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	return gathered{reg, name, label}
}

// gathered reads one labelled series from a registry for testutil.ToFloat64.
type gathered struct {
	reg         *prometheus.Registry
	name, label string
}

func (g gathered) Describe(ch chan<- *prometheus.Desc) {}
func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == g.label {
					v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "h", nil, nil), prometheus.UntypedValue, v)
				}
			}
		}
	}
}

// TestDropFolderResumesAfterAck: the centre acknowledges the first batch
// of a file and then goes away; after a restart the import goes on from the
// first unacknowledged record: nothing lost, nothing sent twice.
func TestDropFolderResumesAfterAck(t *testing.T) {
	drop, state := t.TempDir(), t.TempDir()
	copyFile(t, "testdata/xml/wevtutil-crm.xml", filepath.Join(drop, "app.xml"))
	cfg := filesConfig(drop)
	cfg.BatchSize = 1
	calls := 0
	s := &sink{fail: func(event.Batch) error {
		calls++
		if calls > 1 {
			return errors.New("centre unreachable")
		}
		return nil
	}}
	retryEvery = 20 * time.Millisecond
	stop := start(t, cfg, state, nil, s, nil)
	waitFor(t, "refused retries", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return calls > 3 })
	stop()
	if got := s.snapshot(); len(got) != 1 {
		t.Fatalf("%d events acknowledged before the outage, want 1", len(got))
	}
	s2 := &sink{}
	stop = start(t, cfg, state, nil, s2, nil)
	waitFor(t, "the rest", func() bool { return len(s2.snapshot()) == 3 })
	stop()
	var offs []int64
	for _, ev := range append(s.snapshot(), s2.snapshot()...) {
		offs = append(offs, ev.Origin.Offset)
	}
	if !slices.Equal(offs, []int64{1, 2, 3, 4}) {
		t.Errorf("offsets across the restart %v, want 1 2 3 4 once each", offs)
	}
}

// TestDropFolderEVTX imports a real EVTX log and filters by source and level.
func TestDropFolderEVTX(t *testing.T) {
	dir := evtxDir(t)
	drop := t.TempDir()
	copyFile(t, filepath.Join(dir, "system.evtx"), filepath.Join(drop, "system.evtx"))
	cfg := filesConfig(drop)
	cfg.MinLevel, cfg.Sources = "warning", []string{"service control manager"}
	reg := prometheus.NewPedanticRegistry()
	s := &sink{}
	stop := start(t, cfg, t.TempDir(), nil, s, reg)
	waitFor(t, "the import", func() bool {
		return testutil.ToFloat64(mustCounter(t, reg, "crmwatch_eventlog_files_total", "imported")) == 1
	})
	stop()
	recs, _, _ := readEVTXFile(t, filepath.Join(dir, "system.evtx"))
	want := 0
	for _, r := range recs {
		if r.Provider == "Service Control Manager" && EventLevel(r.Level) >= event.LevelWarning {
			want++
		}
	}
	got := s.snapshot()
	if want == 0 || len(got) != want {
		t.Fatalf("%d events, want %d (Service Control Manager warnings and errors)", len(got), want)
	}
	if v := testutil.ToFloat64(mustCounter(t, reg, "crmwatch_eventlog_events_total", "filtered")); int(v) != len(recs)-want {
		t.Errorf("filtered %v, want %d", v, len(recs)-want)
	}
}

// fakeLog is the Windows event log for the live path: a channel's events
// in order; a bookmark is "rec:N" (N events read). Subscribing without a
// bookmark reads what arrives from then on.
type fakeLog struct {
	mu      sync.Mutex
	events  map[string][][]byte
	queries map[string]string
	starts  []string // bookmarks subscriptions started from
	changed chan struct{}
}

func newFakeLog() *fakeLog {
	return &fakeLog{events: map[string][][]byte{}, queries: map[string]string{}, changed: make(chan struct{}, 1)}
}

func (f *fakeLog) write(channel string, xml ...string) {
	f.mu.Lock()
	for _, x := range xml {
		f.events[channel] = append(f.events[channel], []byte(x))
	}
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeLog) Subscribe(channel, query, bookmark string) (Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if channel == "Missing" {
		return nil, errors.New("The specified channel could not be found.")
	}
	f.queries[channel] = query
	f.starts = append(f.starts, channel+"@"+bookmark)
	pos := len(f.events[channel])
	if bookmark != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(bookmark, "rec:"))
		if err != nil {
			return nil, fmt.Errorf("bad bookmark %q", bookmark)
		}
		pos = n
	}
	return &fakeSub{log: f, channel: channel, pos: pos}, nil
}

type fakeSub struct {
	log     *fakeLog
	channel string
	pos     int
}

func (s *fakeSub) Next(ctx context.Context, max int) ([][]byte, string, error) {
	for {
		s.log.mu.Lock()
		evs := s.log.events[s.channel]
		if s.pos < len(evs) {
			n := min(max, len(evs)-s.pos)
			out := slices.Clone(evs[s.pos : s.pos+n])
			s.pos += n
			s.log.mu.Unlock()
			return out, "rec:" + strconv.Itoa(s.pos), nil
		}
		s.log.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-s.log.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *fakeSub) Close() error { return nil }

func liveEvent(provider string, id, level, rec int, text string) string {
	return fmt.Sprintf(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='%s'/><EventID Qualifiers='49152'>%d</EventID><Level>%d</Level><TimeCreated SystemTime='2026-11-30T01:00:%02d.000Z'/><EventRecordID>%d</EventRecordID><Channel>Application</Channel><Computer>CRMAPP01</Computer></System><EventData><Data>%s</Data></EventData></Event>`,
		provider, id, level, rec%60, rec, text)
}

// TestLiveBookmarkAfterAck drives the live path through the fake event
// log: the subscription gets the plan's sources as an XPath query; a batch
// the centre refused leaves the bookmark where it was, so after a restart
// the channel resumes after the last acknowledged event — nothing lost,
// nothing repeated.
func TestLiveBookmarkAfterAck(t *testing.T) {
	log, state := newFakeLog(), t.TempDir()
	cfg := DefaultConfig()
	cfg.Live, cfg.BatchSize = true, 2
	cfg.ApplyPlan(collectors.Plan{EventLog: []collectors.EventLogSpec{{Channel: "Application", Sources: []string{"MSCRMPlatform"}, MinLevel: "warning"}}})
	retryEvery = 20 * time.Millisecond
	reg := prometheus.NewPedanticRegistry()
	s := &sink{}
	stop := start(t, cfg, state, log, s, reg)
	waitFor(t, "the subscription", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.starts) == 1 })
	log.write("Application", liveEvent("MSCRMPlatform", 17424, 2, 1, "Organization: Contoso failed"), liveEvent("MSCRMPlatform", 1, 3, 2, "slow"))
	waitFor(t, "the first batch", func() bool { return len(s.snapshot()) == 2 })
	waitFor(t, "the bookmark saved after the acknowledged batch", func() bool { bm, _ := loadBookmark(state, "Application"); return bm == "rec:2" })
	ev := s.snapshot()[0]
	if ev.Source != "MSCRMPlatform" || ev.EventID != 17424 || ev.Level != event.LevelError || ev.Organization != "Contoso" || ev.Host != "CRMAPP01" {
		t.Errorf("live event %+v", ev)
	}
	// The centre goes away: the next batch is refused and retried; the
	// bookmark stays.
	s.mu.Lock()
	s.fail = func(event.Batch) error { return errors.New("no ack") }
	s.mu.Unlock()
	log.write("Application", liveEvent("MSCRMPlatform", 2, 2, 3, "third"), liveEvent("MSCRMPlatform", 3, 2, 4, "fourth"))
	waitFor(t, "refusals", func() bool { return counterValue(t, reg, "crmwatch_eventlog_emit_errors_total") >= 2 })
	stop()
	if bm, _ := loadBookmark(state, "Application"); bm != "rec:2" {
		t.Errorf("bookmark moved past a refused batch: %q", bm)
	}
	log.mu.Lock()
	q := log.queries["Application"]
	log.mu.Unlock()
	if q != "*[System[Provider[@Name='MSCRMPlatform'] and (Level=1 or Level=2 or Level=3)]]" {
		t.Errorf("query %s", q)
	}
	// Restart: resumes after the bookmark.
	s2 := &sink{}
	stop = start(t, cfg, state, log, s2, nil)
	waitFor(t, "the resent batch", func() bool { return len(s2.snapshot()) == 2 })
	stop()
	if got := s2.snapshot(); got[0].Message != "third" || got[1].Message != "fourth" {
		t.Errorf("after restart %v", got)
	}
	log.mu.Lock()
	starts := slices.Clone(log.starts)
	log.mu.Unlock()
	if !slices.Equal(starts, []string{"Application@", "Application@rec:2"}) {
		t.Errorf("subscriptions started at %v", starts)
	}
}

// TestLiveChannelStatus: a channel that cannot be subscribed is reported
// unreadable with the API's reason and retried; the others still run.
func TestLiveChannelStatus(t *testing.T) {
	log := newFakeLog()
	cfg := DefaultConfig()
	cfg.Live = true
	cfg.Channels = []Channel{{Name: "Missing"}}
	retryEvery = 20 * time.Millisecond
	s := &sink{}
	col, err := NewFactory(WithEventSource(log)).New(cfg, collectors.Settings{Host: "h", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx, s) }()
	rep := col.(collectors.StatusReporter)
	waitFor(t, "the missing channel's status", func() bool {
		for _, st := range rep.SourceStatuses() {
			if st.Path == "Missing" && st.Status == collectors.SourceUnreadable && strings.Contains(st.Detail, "could not be found") {
				return true
			}
		}
		return false
	})
	log.write("Application", liveEvent("MSCRMWebService", 5, 2, 1, "web"))
	waitFor(t, "Application still read", func() bool { return len(s.snapshot()) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestImportStateBounded: imported.json keeps the last maxImported files.
func TestImportStateBounded(t *testing.T) {
	dir := t.TempDir()
	st, _ := loadImportState(dir)
	for i := range maxImported + 5 {
		st.Imported[strconv.Itoa(i)] = importedFile{Name: "f", Seq: int64(i)}
	}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := loadImportState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, old := back.Imported["0"]; len(back.Imported) != maxImported || old {
		t.Errorf("%d remembered (oldest kept: %v), want the newest %d", len(back.Imported), old, maxImported)
	}
	if err := os.WriteFile(filepath.Join(dir, "imported.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadImportState(dir); err == nil || !strings.Contains(err.Error(), "delete it to import every file in the drop folder again") {
		t.Errorf("a broken state file: %v", err)
	}
}
