package tracefiles

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/tracing/tail"
)

// BenchmarkHandle is the collector's hot path: parse a batch of records,
// filter them and build events (the sink is free).
func BenchmarkHandle(b *testing.B) { benchHandle(b, "") }

// BenchmarkHandleOTLP adds the OTLP export: every record is also queued
// for an exporter posting to an in-process receiver that discards the
// body; records the exporter cannot keep up with are dropped, as in
// production. queued-share is the share that made it into the queue.
func BenchmarkHandleOTLP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	benchHandle(b, srv.URL)
}

func benchHandle(b *testing.B, otlpURL string) {
	data, err := os.ReadFile(filepath.Join("testdata", sample))
	if err != nil {
		b.Fatal(err)
	}
	head, body, _ := bytes.Cut(data, []byte("\r\n["))
	var recs []tail.Record
	for i, r := range bytes.Split(append([]byte("["), body...), []byte("\r\n[")) {
		if i > 0 {
			r = append([]byte("["), r...)
		}
		recs = append(recs, tail.Record{Offset: int64(i), Data: r})
	}
	cfg := DefaultConfig()
	cfg.Dirs, cfg.MinLevel = []string{b.TempDir()}, "verbose"
	cfg.OTLP.Endpoint = otlpURL
	reg := prometheus.NewRegistry()
	c, err := newCollector(cfg, collectors.Settings{Host: "h", Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	if c.exp != nil {
		ctx, cancel := context.WithCancel(context.Background())
		go c.exp.run(ctx)
		defer c.exp.stop(cancel)
	}
	c.sink = collectors.SinkFunc(func(context.Context, event.Batch) error { return nil })
	batch := tail.Batch{Path: "a.log", Fingerprint: "0123456789abcdef", Header: head, Records: recs}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.handle(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	if c.exp != nil {
		dropped := testutil.ToFloat64(c.exp.m.dropped.WithLabelValues(dropQueueFull))
		b.ReportMetric(1-dropped/float64(b.N*len(recs)), "queued-share")
	}
}

// BenchmarkAppendToSink measures the agent's share of fault-to-alert: from
// an error record appended to a followed trace file (the write returned)
// to its event handed to the sink, with the collector's defaults (idle_flush
// 100ms, notifications on, poll_interval 500ms as the fallback). One op is
// one record, appended after the previous one arrived, so each record is
// completed by the idle time, not by a following record. It reports the
// p50 and p99 latency.
func BenchmarkAppendToSink(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "CRM01-w3wp-CRMWeb-20240501-1.log")
	if err := os.WriteFile(p, []byte(crmHeader), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dirs = []string{dir}
	arrived := make(chan time.Time, 1)
	sink := collectors.SinkFunc(func(_ context.Context, bt event.Batch) error {
		for range bt.Events {
			arrived <- time.Now()
		}
		return nil
	})
	c, err := NewFactory().New(cfg, collectors.Settings{Host: "h", StateDir: b.TempDir(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	defer func() { cancel(); <-done }()
	w, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	time.Sleep(200 * time.Millisecond) // the first scan: the file is followed from its end
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		if _, err := w.WriteString(crmRecord(i)); err != nil {
			b.Fatal(err)
		}
		wrote := time.Now()
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(wrote))
		case <-time.After(10 * time.Second):
			b.Fatal("record not handed to the sink within 10s")
		}
	}
	slices.Sort(lat)
	pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1e3 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
