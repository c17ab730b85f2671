package tracefiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/tracing"
	"crmwatch/tracing/query"
	"crmwatch/tracing/tail"
)

// Collector follows trace folders and ships matching records.
type Collector struct {
	cfg     Config
	set     collectors.Settings
	log     *slog.Logger
	m       *metrics
	match   *query.Matcher
	loc     *time.Location
	tailer  *tail.Tailer
	sink    collectors.Sink
	headers map[string]fileInfo // fingerprint → what the file says about itself
	exp     *exporter           // nil unless otlp.endpoint is set
	toOTLP  []tracing.Record    // records of the batch in hand to export, reused
	dirs    *dirWatch
}

var _ collectors.StatusReporter = (*Collector)(nil)

// SourceStatuses reports whether each trace folder exists and is readable.
func (c *Collector) SourceStatuses() []collectors.SourceStatus { return c.dirs.statuses() }

// fileInfo is the host and role a file's header (or name) gives, and the
// header with them filled in for the OTLP resource.
type fileInfo struct {
	host, role string
	hdr        tracing.Header
}

// maxHeaderCache bounds the per-file cache; it is rebuilt from each batch's
// header when cleared.
const maxHeaderCache = 4096

func newCollector(cfg *Config, set collectors.Settings) (*Collector, error) {
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: *cfg, set: set, log: set.Logger.With("collector", Type), headers: map[string]fileInfo{}}
	var err error
	if c.match, err = cfg.matcher(); err != nil {
		return nil, err
	}
	if c.loc, err = cfg.location(); err != nil {
		return nil, err
	}
	if c.m, err = newMetrics(set.Registerer); err != nil {
		return nil, err
	}
	if c.dirs, err = newDirWatch(cfg.Dirs, c.log, set.Registerer); err != nil {
		return nil, err
	}
	if cfg.OTLP.Enabled() {
		if c.exp, err = newExporter(cfg, c.log, set.Registerer); err != nil {
			return nil, fmt.Errorf("%s: %w", Type, err)
		}
	}
	c.tailer, err = tail.New(tail.Options{
		Dirs:            cfg.Dirs,
		Pattern:         cfg.Pattern,
		StartsRecord:    tracing.IsRecordStart,
		Handler:         c.handle,
		StateDir:        set.StateDir,
		RotatedPatterns: cfg.RotatedPatterns,
		StartAtEnd:      cfg.StartAt == StartAtEnd,
		PollInterval:    cfg.PollInterval,
		IdleFlush:       cfg.IdleFlush,
		MaxRecordBytes:  cfg.MaxRecordBytes,
		BatchRecords:    cfg.BatchSize,
		Logger:          c.log,
		Registerer:      set.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	return c, nil
}

// Run follows the folders until ctx ends. It may be called once.
func (c *Collector) Run(ctx context.Context, sink collectors.Sink) error {
	if c.sink != nil {
		return errors.New("tracefiles: Run called twice; build a new collector")
	}
	c.sink = sink
	c.log.Info("following trace files", "dirs", c.cfg.Dirs, "pattern", c.cfg.Pattern, "min_level", c.cfg.MinLevel)
	dctx, stopDirs := context.WithCancel(ctx)
	dirsDone := make(chan struct{})
	go func() { defer close(dirsDone); c.dirs.run(dctx, max(c.cfg.PollInterval, dirCheckEvery)) }()
	defer func() { stopDirs(); <-dirsDone }()
	if c.exp != nil {
		// The export outlives ctx by at most otlp.shutdown_timeout, so
		// what is queued when the agent stops is still sent.
		ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		go c.exp.run(ectx)
		defer c.exp.stop(cancel)
		c.log.Info("exporting trace records over OTLP", "endpoint", c.cfg.OTLP.redactedEndpoint(),
			"min_level", cmp.Or(c.cfg.OTLP.MinLevel, c.cfg.MinLevel), "headers", len(c.cfg.OTLP.Headers))
	}
	return c.tailer.Run(ctx)
}

// handle turns one batch of complete records into events and emits them;
// returning nil lets the tailer move its checkpoint past them. Records for
// OTLP are queued only once the sink accepted the batch, so a batch the
// tailer offers again after a refusal is exported once.
func (c *Collector) handle(ctx context.Context, b tail.Batch) error {
	fi := c.fileInfo(b)
	events := make([]event.Event, 0, len(b.Records))
	c.toOTLP = c.toOTLP[:0]
	for _, r := range b.Records {
		if r.Continued {
			// Lines that continue a record already shipped (the writer
			// paused inside it longer than idle_flush): never a record of
			// their own; the tailer logs it and waits longer on that file.
			c.m.records.WithLabelValues(outcomeLateContinuation).Inc()
			continue
		}
		rec, err := tracing.ParseRecord(r.Data)
		c.m.malformedLines.Add(float64(len(rec.Malformed)))
		if err != nil {
			// A fragment flushed on idle, or garbage between records:
			// counted, never shipped as a half record.
			c.m.records.WithLabelValues(outcomeMalformed).Inc()
			continue
		}
		rec.Truncated = rec.Truncated || r.Truncated
		rec.Time = inZone(rec.Time, c.loc)
		if c.exp != nil && c.exp.wants(&rec) {
			c.toOTLP = append(c.toOTLP, rec)
		}
		if !c.match.Match(&rec) {
			c.m.records.WithLabelValues(outcomeFiltered).Inc()
			continue
		}
		ev := rec.Event(fi.host, fi.role)
		boundEvent(&ev)
		ev.Time = rec.Time
		ev.Origin = event.Origin{Collector: Type, File: b.Path, Fingerprint: b.Fingerprint, Offset: r.Offset}
		events = append(events, ev)
	}
	if len(events) == 0 {
		c.export(fi)
		return nil
	}
	start := time.Now()
	err := c.sink.Emit(ctx, event.Batch{Host: fi.host, Events: events})
	c.m.emitDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.emitErrors.Inc()
		return fmt.Errorf("emit %d trace events from %s: %w", len(events), b.Path, err)
	}
	c.m.records.WithLabelValues(outcomeShipped).Add(float64(len(events)))
	c.export(fi)
	return nil
}

// export queues the batch's records for OTLP (never blocking).
func (c *Collector) export(fi fileInfo) {
	for i := range c.toOTLP {
		c.exp.offer(fi.hdr, c.toOTLP[i])
		c.toOTLP[i] = tracing.Record{} // the queue owns it now
	}
	c.toOTLP = c.toOTLP[:0]
}

// fileInfo reads host and role from the file's '#' header (ComputerName,
// ServerRole), then its name, then the agent's settings.
func (c *Collector) fileInfo(b tail.Batch) fileInfo {
	if fi, ok := c.headers[b.Fingerprint]; ok {
		return fi
	}
	h := tracing.ParseHeader(b.Header)
	fi := fileInfo{host: h.ComputerName, role: strings.TrimSpace(h.ServerRole), hdr: h}
	if fi.host == "" {
		name := b.Name // the lineage's first name: a rotated copy's says nothing
		if name == "" {
			name = b.Path
		}
		fi.host = tracing.ParseFileName(filepath.Base(name)).Host
	}
	if fi.host == "" {
		fi.host = c.set.Host
	}
	if fi.role == "" && len(c.set.Roles) == 1 {
		fi.role = c.set.Roles[0]
	}
	fi.hdr.ComputerName, fi.hdr.ServerRole = fi.host, fi.role
	if len(c.headers) >= maxHeaderCache {
		clear(c.headers)
	}
	c.headers[b.Fingerprint] = fi
	return fi
}

// inZone reads the wall-clock digits the parser returned in UTC as time in
// loc: trace timestamps carry no zone and are written in server-local time.
func inZone(t time.Time, loc *time.Location) time.Time {
	if loc == time.UTC || t.IsZero() {
		return t
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), loc)
}
