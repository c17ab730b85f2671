package perfcounters

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// collector reads its interval groups from a Source and scrapes its
// Prometheus targets, each on its own ticker, and hands every reading to
// the sink as a Sample.
type collector struct {
	cfg    Config
	set    collectors.Settings
	log    *slog.Logger
	m      *metrics
	source SourceFunc // nil: no source on this system (scrapes only)
	now    func() time.Time

	mu      sync.Mutex
	missing map[time.Duration]int // unavailable paths per interval group
}

func newCollector(cfg *Config, set collectors.Settings, source SourceFunc) (*collector, error) {
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	targets := make([]string, len(cfg.Prometheus))
	for i, p := range cfg.Prometheus {
		targets[i] = p.URL.String()
	}
	m, err := newMetrics(set.Registerer, targets)
	if err != nil {
		return nil, err
	}
	return &collector{cfg: *cfg, set: set, log: set.Logger.With("collector", Type), m: m, source: source, now: time.Now,
		missing: map[time.Duration]int{}}, nil
}

// Run reads until ctx ends. Failures of a source or target are logged
// once per change and counted; they never stop the agent.
func (c *collector) Run(ctx context.Context, sink collectors.Sink) error {
	groups := c.cfg.groups()
	var wg sync.WaitGroup
	paths := 0
	for _, g := range groups {
		paths += len(g.paths)
		if c.source == nil {
			continue
		}
		wg.Go(func() { c.runGroup(ctx, g, sink) })
	}
	for _, sc := range c.cfg.Prometheus {
		wg.Go(func() { c.runScrape(ctx, sc, sink) })
	}
	switch {
	case paths > 0 && c.source == nil:
		c.log.Warn("no counter source on this system; only Prometheus targets are read", "paths", paths, "source", c.cfg.Source)
	case paths == 0 && len(c.cfg.Prometheus) == 0 && !c.cfg.planned:
		// At every start, before the server's plan for the roles arrives.
		c.log.Info("no counter paths yet: waiting for the packs' collection plan for this host's roles")
	case paths == 0 && len(c.cfg.Prometheus) == 0:
		c.log.Warn("nothing to collect: the packs ask no counters of this host's roles, and no counters: or prometheus: targets are configured")
	default:
		c.log.Info("collecting counters", "paths", paths, "groups", len(groups), "prometheus_targets", len(c.cfg.Prometheus))
	}
	wg.Wait()
	return nil
}

func (c *collector) runGroup(ctx context.Context, g group, sink collectors.Sink) {
	src, err := c.source()
	if err != nil {
		c.m.readErrors.Inc()
		c.log.Error("counter source unavailable", "err", err)
		return
	}
	defer src.Close()
	// The first read primes rate counters (they need two samples); the
	// first values follow primeDelay later.
	_, _ = src.Read(ctx, g.paths)
	wait := min(primeDelay, g.interval)
	r := &groupReader{c: c, g: g, src: src}
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := c.now()
		r.read(ctx, sink)
		wait = max(g.interval-c.now().Sub(start), 0)
	}
}

// groupReader reads one group and remembers what it last reported.
type groupReader struct {
	c       *collector
	g       group
	src     Source
	failing bool
	missing int
}

func (r *groupReader) read(ctx context.Context, sink collectors.Sink) {
	c := r.c
	at := c.now()
	readings, err := r.src.Read(ctx, r.g.paths)
	c.m.readTime.Observe(c.now().Sub(at).Seconds())
	if ms, ok := r.src.(interface{ takeMalformed() int }); ok {
		c.m.malformed.Add(float64(ms.takeMalformed()))
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.m.readErrors.Inc()
		if !r.failing {
			r.failing = true
			c.log.Warn("reading counters failed; retrying every interval", "interval", r.g.interval, "err", err)
		}
		return
	}
	if r.failing {
		r.failing = false
		c.log.Info("reading counters again")
	}
	readings = r.limit(readings)
	r.reportMissing(readings)
	c.emit(ctx, sink, at, readings)
}

// limit keeps at most MaxInstances readings per wanted path.
func (r *groupReader) limit(rs []Reading) []Reading {
	perObject := map[string]int{}
	out := rs[:0]
	for _, rd := range rs {
		k := strings.ToLower(rd.Path.Object + `\` + rd.Path.Counter)
		if perObject[k] >= r.c.cfg.MaxInstances {
			r.c.m.truncated.Inc()
			continue
		}
		perObject[k]++
		out = append(out, rd)
	}
	return out
}

// reportMissing sets the unavailable gauge and logs when the number of
// wanted paths without any reading changes.
func (r *groupReader) reportMissing(rs []Reading) {
	var missing []string
	for _, w := range r.g.paths {
		found := false
		for _, rd := range rs {
			if sameObject(w, rd.Path) && instanceMatches(w.Instance, rd.Path.Instance) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, w.String())
		}
	}
	r.c.setMissing(r.g.interval, len(missing))
	if len(missing) != r.missing {
		r.missing = len(missing)
		if len(missing) > 0 {
			r.c.log.Info("counter paths not available on this host (not installed, no instance yet, or no equivalent on this system)",
				"count", len(missing), "of", len(r.g.paths), "first", missing[:min(len(missing), 5)])
		}
	}
}

// setMissing records one group's unavailable paths; the gauge is their sum.
func (c *collector) setMissing(interval time.Duration, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.missing[interval] = n
	total := 0
	for _, v := range c.missing {
		total += v
	}
	c.m.unavailable.Set(float64(total))
}

func (c *collector) emit(ctx context.Context, sink collectors.Sink, at time.Time, rs []Reading) {
	if len(rs) == 0 {
		return
	}
	b := event.Batch{Host: c.set.Host, Samples: make([]event.Sample, len(rs))}
	for i, rd := range rs {
		b.Samples[i] = event.Sample{Time: at, Host: c.set.Host, Counter: rd.Path.String(), Value: rd.Value}
	}
	if err := sink.Emit(ctx, b); err != nil {
		if ctx.Err() == nil {
			c.m.emitErrors.Inc()
			c.log.Warn("samples not delivered; the next interval reads again", "samples", len(rs), "err", err)
		}
		return
	}
	c.m.samples.Add(float64(len(rs)))
}

func (c *collector) runScrape(ctx context.Context, sc ScrapeConfig, sink collectors.Sink) {
	s := newScraper(sc, c.cfg.Interval)
	interval := sc.interval(c.cfg.Interval)
	failing := false
	for {
		at := c.now()
		sctx, cancel := context.WithTimeout(ctx, sc.timeout(c.cfg.Interval))
		res, err := s.scrape(sctx, at)
		cancel()
		if ctx.Err() != nil {
			return
		}
		c.m.scrapeDuration.WithLabelValues(s.target).Set(c.now().Sub(at).Seconds())
		c.m.scrapeUnmapped.WithLabelValues(s.target).Add(float64(res.unmapped))
		switch {
		case err != nil:
			c.m.scrapeSuccess.WithLabelValues(s.target).Set(0)
			if !failing {
				failing = true
				c.log.Warn("scrape failed; retrying every interval", "target", s.target, "err", err)
			}
		default:
			if failing {
				failing = false
				c.log.Info("scraping again", "target", s.target)
			}
			c.m.scrapeSuccess.WithLabelValues(s.target).Set(1)
			c.m.scrapeSamples.WithLabelValues(s.target).Set(float64(len(res.readings)))
			c.emit(ctx, sink, at, res.readings)
		}
		t := time.NewTimer(max(interval-c.now().Sub(at), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
