package tracefiles

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

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
