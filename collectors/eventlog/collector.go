package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// Collector reads the Windows event log live and imports the files of a
// drop folder, handing the events to the agent's sink.
type Collector struct {
	cfg      Config
	set      collectors.Settings
	log      *slog.Logger
	m        *metrics
	src      EventSource
	minLevel event.Level
	sources  map[string]bool // lower-case; nil keeps every source (drop folder)
	sink     collectors.Sink

	mu       sync.Mutex
	statuses map[string]collectors.SourceStatus
}

var _ collectors.StatusReporter = (*Collector)(nil)

// retryEvery is how long a refused batch or a failed subscription waits
// before it is tried again.
var retryEvery = 2 * time.Second

func newCollector(cfg *Config, set collectors.Settings, src EventSource) (*Collector, error) {
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: *cfg, set: set, log: set.Logger.With("collector", Type), src: src, statuses: map[string]collectors.SourceStatus{}}
	c.minLevel, _ = parseMinLevel(cfg.MinLevel)
	if len(cfg.Sources) > 0 {
		c.sources = map[string]bool{}
		for _, s := range cfg.Sources {
			c.sources[strings.ToLower(strings.TrimSpace(s))] = true
		}
	}
	var err error
	if c.m, err = newMetrics(set.Registerer); err != nil {
		return nil, err
	}
	if cfg.DropDir != "" {
		c.setStatus(c.dropStatus())
	}
	if cfg.Live {
		for _, ch := range cfg.channels() {
			c.setStatus(collectors.SourceStatus{Collector: Type, Source: "event-log channel", Path: ch.Name, Status: collectors.SourceOK})
		}
	}
	return c, nil
}

// SourceStatuses reports the drop folder and each live channel.
func (c *Collector) SourceStatuses() []collectors.SourceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]collectors.SourceStatus, 0, len(c.statuses))
	for _, s := range c.statuses {
		out = append(out, s)
	}
	sortStatuses(out)
	return out
}

func (c *Collector) setStatus(s collectors.SourceStatus) {
	c.mu.Lock()
	c.statuses[s.Source+"\x00"+s.Path] = s
	c.mu.Unlock()
}

// Run reads until ctx ends. It may be called once.
func (c *Collector) Run(ctx context.Context, sink collectors.Sink) error {
	if c.sink != nil {
		return errors.New("eventlog: Run called twice; build a new collector")
	}
	c.sink = sink
	var wg sync.WaitGroup
	if c.cfg.DropDir != "" {
		c.log.Info("importing exported event logs", "drop_dir", c.cfg.DropDir, "min_level", c.cfg.MinLevel)
		wg.Go(func() { c.runFiles(ctx) })
	}
	if c.cfg.Live {
		for _, ch := range c.cfg.channels() {
			c.log.Info("reading the event log", "channel", ch.Name, "sources", len(ch.Sources), "min_level", ch.MinLevel)
			wg.Go(func() { c.runChannel(ctx, ch) })
		}
	}
	wg.Wait()
	return nil
}

// wants applies the level and source filters of a channel (sources nil:
// every source).
func wants(r *Record, minLevel event.Level, sources map[string]bool) bool {
	if l := EventLevel(r.Level); l != event.LevelUnknown && l < minLevel {
		return false
	}
	return sources == nil || sources[strings.ToLower(r.Provider)]
}

// emit hands a batch over, retrying a refused batch until it is
// acknowledged or ctx ends (then the error): the caller's checkpoint moves
// only after nil.
func (c *Collector) emit(ctx context.Context, evs []event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	for {
		err := c.sink.Emit(ctx, event.Batch{Host: c.set.Host, Events: evs})
		if err == nil {
			c.m.events.WithLabelValues(outcomeShipped).Add(float64(len(evs)))
			return nil
		}
		c.m.emitErrors.Inc()
		if ctx.Err() != nil {
			return fmt.Errorf("emit %d events: %w", len(evs), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("emit %d events: %w", len(evs), ctx.Err())
		case <-time.After(retryEvery):
		}
	}
}

// runChannel reads one channel live: each batch goes to the sink and the
// channel's bookmark is saved only after the centre acknowledged it, so a
// restart resumes after the last acknowledged event (nothing lost, nothing
// repeated).
func (c *Collector) runChannel(ctx context.Context, ch Channel) {
	minLevel, _ := parseMinLevel(ch.MinLevel)
	var sources map[string]bool
	if len(ch.Sources) > 0 {
		sources = map[string]bool{}
		for _, s := range ch.Sources {
			sources[strings.ToLower(s)] = true
		}
	}
	query := Query(ch.Sources, minLevel)
	status := collectors.SourceStatus{Collector: Type, Source: "event-log channel", Path: ch.Name}
	failing := ""
	for ctx.Err() == nil {
		err := c.readChannel(ctx, ch.Name, query, minLevel, sources, &status)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.m.success.WithLabelValues(modeLive).Set(0)
		if err.Error() != failing { // say each new reason once, not every retry
			failing = err.Error()
			c.log.Warn("event-log channel failed; retrying", "channel", ch.Name, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryEvery):
		}
	}
}

func (c *Collector) readChannel(ctx context.Context, channel, query string, minLevel event.Level, sources map[string]bool, status *collectors.SourceStatus) error {
	bm, err := loadBookmark(c.set.StateDir, channel)
	if err != nil {
		return fmt.Errorf("read bookmark: %w", err)
	}
	sub, err := c.src.Subscribe(channel, query, bm)
	if err != nil {
		status.Status, status.Detail = collectors.SourceUnreadable, err.Error()
		c.setStatus(*status)
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Close()
	status.Status, status.Detail = collectors.SourceOK, ""
	c.setStatus(*status)
	for {
		xmls, bookmark, err := sub.Next(ctx, c.cfg.BatchSize)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		start := time.Now()
		evs := make([]event.Event, 0, len(xmls))
		for _, x := range xmls {
			r, err := DecodeXML(x)
			if err != nil {
				c.m.malformed.Inc()
				continue
			}
			if !wants(&r, minLevel, sources) {
				c.m.events.WithLabelValues(outcomeFiltered).Inc()
				continue
			}
			ev := r.Event(c.set.Host)
			ev.Origin = event.Origin{Collector: Type, File: channel, Offset: int64(r.RecordID)}
			evs = append(evs, ev)
		}
		if err := c.emit(ctx, evs); err != nil {
			return nil // ctx ended: the bookmark stays before this batch
		}
		if err := saveBookmark(c.set.StateDir, channel, bookmark); err != nil {
			return err
		}
		c.m.duration.WithLabelValues(modeLive).Observe(time.Since(start).Seconds())
		c.m.success.WithLabelValues(modeLive).Set(1)
	}
}
