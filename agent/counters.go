package agent

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/packs"
)

// counterExposition is the sink in front of the transport that also keeps
// the last value of every counter sample the agent ships, exposed on its
// /metrics as crmwatch_perfcounter_value with exactly the labels
// packs.CounterSeries gives (the ones `crmwatch pack export-prometheus`
// rules select), so a Prometheus scraping the agents can evaluate the
// packs' rules. A series not updated for three of its own intervals (at
// least minSeriesTTL) is dropped, as an instance that went away should be.
type counterExposition struct {
	next collectors.Sink
	desc *prometheus.Desc
	now  func() time.Time

	mu     sync.Mutex
	series map[string]*exposedSeries
}

type exposedSeries struct {
	labels   []string // label values in desc order
	value    float64
	at, prev time.Time // when the last two samples were recorded
}

// minSeriesTTL keeps a series at least this long after its last sample.
const minSeriesTTL = 2 * time.Minute

// counterLabels is the label order of the exposed series.
var counterLabels = []string{packs.LabelCounter, packs.LabelInstance, packs.LabelHost, packs.LabelObject}

func newCounterExposition(next collectors.Sink) *counterExposition {
	return &counterExposition{
		next: next,
		desc: prometheus.NewDesc(packs.CounterMetric,
			"Last value of a performance counter the agent shipped (labels: the counter path's parts in lower case, as pack export-prometheus rules select them).",
			counterLabels, nil),
		now:    time.Now,
		series: map[string]*exposedSeries{},
	}
}

// Emit records the samples, then hands the batch on. Recording first keeps
// /metrics current while the centre is unreachable.
func (c *counterExposition) Emit(ctx context.Context, b event.Batch) error {
	if len(b.Samples) > 0 {
		c.record(b.Samples)
	}
	return c.next.Emit(ctx, b)
}

func (c *counterExposition) record(ss []event.Sample) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range ss {
		s := &ss[i]
		cp, err := event.ParseCounterPath(s.Counter)
		if err != nil {
			continue
		}
		_, ls := packs.CounterSeries(s.Host, cp)
		vals := make([]string, len(counterLabels))
		for _, l := range ls {
			for j, name := range counterLabels {
				if l.Name == name {
					vals[j] = l.Value
				}
			}
		}
		key := vals[0] + "\x00" + vals[1] + "\x00" + vals[2] + "\x00" + vals[3]
		e := c.series[key]
		if e == nil {
			e = &exposedSeries{labels: vals}
			c.series[key] = e
		}
		e.prev, e.at, e.value = e.at, now, s.Value
	}
}

// Describe sends the one descriptor.
func (c *counterExposition) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends every live series and forgets the stale ones.
func (c *counterExposition) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.series {
		ttl := minSeriesTTL
		if !e.prev.IsZero() {
			ttl = max(ttl, 3*e.at.Sub(e.prev))
		}
		if now.Sub(e.at) > ttl {
			delete(c.series, k)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, e.value, e.labels...)
	}
}
