package tracefiles

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/tracing/tail"
)

// BenchmarkHandle is the collector's hot path: parse a batch of records,
// filter them and build events (the sink is free).
func BenchmarkHandle(b *testing.B) {
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
	c, err := newCollector(cfg, collectors.Settings{Host: "h"})
	if err != nil {
		b.Fatal(err)
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
}
