package tracefiles

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/tracing"
	"crmwatch/tracing/otlp"
	"crmwatch/tracing/query"
)

// exporter feeds an otlp.Exporter from its own goroutine through a bounded
// queue, so a slow or dead receiver never holds up the tailer and the
// transport to the centre: offer never blocks, and a full queue drops the
// record and counts it.
//
// While the receiver fails, the goroutine stops taking records and tries a
// flush every FlushInterval; the queue fills and further records are
// dropped. The failure is logged once when it starts and once when it ends.
type exporter struct {
	cfg     OTLPConfig
	match   *query.Matcher
	log     *slog.Logger
	m       *otlpMetrics
	exp     *otlp.Exporter // owned by the run goroutine (not safe for concurrent use)
	items   chan exportItem
	bytes   atomic.Int64 // approximate size of the queued records
	quit    chan struct{}
	done    chan struct{}
	added   int64       // records given to exp
	last    otlp.Counts // exp's counts already added to the metrics
	failing bool
}

type exportItem struct {
	hdr  tracing.Header
	rec  tracing.Record
	size int64
}

func newExporter(cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*exporter, error) {
	match, err := cfg.otlpMatcher()
	if err != nil {
		return nil, err
	}
	exp, err := otlp.New(cfg.OTLP.options())
	if err != nil {
		return nil, err
	}
	x := &exporter{cfg: cfg.OTLP, match: match, log: log.With("component", "otlp"), exp: exp,
		items: make(chan exportItem, cfg.OTLP.QueueSize), quit: make(chan struct{}), done: make(chan struct{})}
	if x.m, err = newOTLPMetrics(reg, func() float64 { return float64(len(x.items)) }); err != nil {
		return nil, err
	}
	return x, nil
}

// wants reports whether rec is exported (level and categories).
func (x *exporter) wants(rec *tracing.Record) bool { return x.match.Match(rec) }

// offer queues a record without ever blocking; rec must not be reused.
func (x *exporter) offer(hdr tracing.Header, rec tracing.Record) {
	size := int64(2*len(rec.Raw) + 256)
	if x.bytes.Add(size) > int64(x.cfg.QueueBytes) {
		x.bytes.Add(-size)
		x.m.dropped.WithLabelValues(dropQueueFull).Inc()
		return
	}
	select {
	case x.items <- exportItem{hdr: hdr, rec: rec, size: size}:
	default:
		x.bytes.Add(-size)
		x.m.dropped.WithLabelValues(dropQueueFull).Inc()
	}
}

// run exports until stop; ctx ends the exporter's requests (cancelled by
// stop once the shutdown timeout has passed).
func (x *exporter) run(ctx context.Context) {
	defer close(x.done)
	tick := time.NewTicker(x.cfg.FlushInterval)
	defer tick.Stop()
	for {
		items := x.items
		if x.failing {
			items = nil // leave records queued until the receiver answers again
		}
		select {
		case it := <-items:
			x.add(ctx, it)
		case <-tick.C:
			x.observe(x.exp.Flush(ctx))
		case <-x.quit:
			x.shutdown(ctx)
			return
		}
	}
}

func (x *exporter) add(ctx context.Context, it exportItem) {
	x.bytes.Add(-it.size)
	x.added++
	x.observe(x.exp.Add(ctx, it.hdr, &it.rec))
}

// observe turns the exporter's counts into metrics and logs changes of
// state (failing, recovered) once each, never every attempt.
func (x *exporter) observe(err error) {
	c := x.exp.Counts()
	x.m.exported.WithLabelValues(signalLogs).Add(float64(c.Logs - x.last.Logs))
	x.m.exported.WithLabelValues(signalSpans).Add(float64(c.Spans - x.last.Spans))
	x.m.rejected.WithLabelValues(signalLogs).Add(float64(c.RejectedLogs - x.last.RejectedLogs))
	x.m.rejected.WithLabelValues(signalSpans).Add(float64(c.RejectedSpans - x.last.RejectedSpans))
	x.last = c
	switch {
	case err != nil:
		x.m.errors.Inc()
		if !x.failing {
			x.failing = true
			x.log.Warn("OTLP export failing; records wait in the queue and are dropped once it is full",
				"endpoint", x.cfg.redactedEndpoint(), "retry_every", x.cfg.FlushInterval, "err", err)
		}
	case x.failing: // only Flush runs while failing: everything pending was sent
		x.failing = false
		x.log.Info("OTLP export recovered", "endpoint", x.cfg.redactedEndpoint())
	}
}

// stop ends run: what is queued is exported and the exporter closed
// (sending open request spans) within ShutdownTimeout; after that the
// requests are cancelled and what is left is dropped and counted.
func (x *exporter) stop(cancel context.CancelFunc) {
	t := time.AfterFunc(x.cfg.ShutdownTimeout, cancel)
	defer t.Stop()
	close(x.quit)
	<-x.done
}

func (x *exporter) shutdown(ctx context.Context) {
	if x.failing {
		x.observe(x.exp.Flush(ctx)) // one more chance for a receiver that came back
	}
	for drained := false; !drained; {
		select {
		case it := <-x.items:
			if x.failing || ctx.Err() != nil {
				x.bytes.Add(-it.size)
				x.m.dropped.WithLabelValues(dropShutdown).Inc()
			} else {
				x.add(ctx, it)
			}
		default:
			drained = true
		}
	}
	err := x.exp.Close(ctx)
	x.observe(err)
	if pending := x.added - x.exp.Counts().Logs; err != nil && pending > 0 {
		x.m.dropped.WithLabelValues(dropShutdown).Add(float64(pending))
		x.log.Warn("OTLP export: records not sent before shutdown", "records", pending, "err", err)
	}
}
