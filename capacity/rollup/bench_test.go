package rollup_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/event"
	"crmwatch/store/sqlstore"
)

// BenchmarkRollupIngest measures the rollup consumer's work per sample:
// rolling decoded batches up to the three resolutions and committing the
// deltas (read, merge, write) to a SQLite store whenever MaxPending
// buckets wait, as the consumer does. The farm is 50 hosts × 40 counters
// read every 15 s; one op is 100,000 samples (12.5 minutes of the farm).
func BenchmarkRollupIngest(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "crmwatch.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const hosts, counters, perOp = 50, 40, 100_000
	batches := make([]event.Batch, hosts)
	for h := range batches {
		batches[h].Host = fmt.Sprintf("CRMWEB%02d", h)
		for c := range counters {
			batches[h].Samples = append(batches[h].Samples, event.Sample{Host: batches[h].Host, Role: "AppServer",
				Counter: fmt.Sprintf(`\Object%d(_Total)\Counter %d`, c%8, c)})
		}
	}
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	agg := rollup.NewAggregator()
	const maxPending = 50_000 // the consumer's default
	commit := func() {
		series, orgs := agg.Take()
		if err := st.CommitRollup(ctx, rollup.Commit{Series: series, Orgs: orgs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for b.Loop() {
		for n := 0; n < perOp; n += hosts * counters {
			at = at.Add(15 * time.Second)
			for h := range batches {
				for i := range batches[h].Samples {
					s := &batches[h].Samples[i]
					s.Time, s.Value = at, float64((h*counters+i+int(at.Unix()))%97)
				}
				agg.AddSamples(batches[h].Samples)
			}
			if agg.Pending() >= maxPending {
				commit()
			}
		}
	}
	commit()
	b.ReportMetric(float64(b.N)*perOp/time.Since(start).Seconds(), "samples/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)*perOp/cpu.Seconds(), "samples/cpu-s")
	}
}
