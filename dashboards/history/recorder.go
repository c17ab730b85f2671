package history

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"crmwatch/dashboards"
)

// RecorderWindow is how much of the server's own metrics a Recorder keeps.
const RecorderWindow = 24 * time.Hour

// Recorder keeps this server process's own /metrics (the dashboards.Exposed
// metrics of the "server" side) once a minute for RecorderWindow, in
// memory: the history of the panels over server metrics. It starts empty
// at every start and is this server's view only (with several servers,
// counters such as heartbeats seen count on the one evaluating); the
// console says so. Agent metrics are never recorded here.
type Recorder struct {
	g     prometheus.Gatherer
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	series map[string]*recSeries
	since  time.Time
}

type recSeries struct {
	metric string
	labels map[string]string
	t      []int64
	v      []float64
}

// NewRecorder records what g gathers every `every` (default 1 minute).
func NewRecorder(g prometheus.Gatherer, every time.Duration, now func() time.Time) *Recorder {
	if every <= 0 {
		every = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{g: g, every: every, now: now, series: map[string]*recSeries{}}
}

// Run records at once and then every interval until ctx ends.
func (r *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.Record()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Record takes one reading of every server metric the dashboards may
// query; a failed gather is skipped (the gap shows on the chart).
func (r *Recorder) Record() {
	fams, err := r.g.Gather()
	if err != nil && len(fams) == 0 {
		return
	}
	now := r.now()
	at := now.Unix() - now.Unix()%60 // minute buckets, as the rollups
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since = now
	}
	oldest := at - int64(RecorderWindow/time.Second)
	for _, f := range fams {
		if src, ok := dashboards.Exposed[f.GetName()]; !ok || src.Process != "server" {
			continue
		}
		for _, m := range f.GetMetric() {
			v, ok := value(f.GetType(), m)
			if !ok {
				continue
			}
			labels := map[string]string{"__name__": f.GetName()}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			key := strings.Join(sortedPairs(labels), "\x00")
			s := r.series[key]
			if s == nil {
				s = &recSeries{metric: f.GetName(), labels: labels}
				r.series[key] = s
			}
			if n := len(s.t); n > 0 && s.t[n-1] == at {
				s.v[n-1] = v // a second reading in the same minute replaces the first
				continue
			}
			s.t, s.v = append(s.t, at), append(s.v, v)
			if cut := slices.IndexFunc(s.t, func(t int64) bool { return t >= oldest }); cut > 0 {
				s.t, s.v = slices.Delete(s.t, 0, cut), slices.Delete(s.v, 0, cut)
			}
		}
	}
}

func value(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), true
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// Since is when the recorder took its first reading (zero before).
func (r *Recorder) Since() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.since
}

// read returns copies of metric's series with their readings in [from, to).
func (r *Recorder) read(metric string, from, to int64) []series {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []series
	for _, k := range slices.Sorted(maps.Keys(r.series)) {
		s := r.series[k]
		if s.metric != metric {
			continue
		}
		c := series{labels: maps.Clone(s.labels), values: map[int64]float64{}}
		for i, t := range s.t {
			if t >= from && t < to {
				c.values[t] = s.v[i]
			}
		}
		out = append(out, c)
	}
	return out
}
