package demo

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/store/sqlstore"
)

// The demo back-fills 30 days by default, once: a store with history is
// left as it is.
func TestDemoBackfillsCapacityHistoryOnce(t *testing.T) {
	if got := (Options{}).withDefaults().Backfill; got != 30*24*time.Hour {
		t.Fatalf("default back-fill %s, want 30 days", got)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "crmwatch.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func() (n uint64) {
		_ = st.ScanSeries(ctx, rollup.Day, time.Now().Add(-5*24*time.Hour), time.Now().Add(time.Hour), func(r *rollup.SeriesRow) error {
			n += r.Count
			return nil
		})
		return n
	}
	log := slog.New(slog.DiscardHandler)
	if err := backfillIfEmpty(ctx, st, 2*24*time.Hour, 1, log); err != nil {
		t.Fatal(err)
	}
	first := count()
	if first == 0 {
		t.Fatal("no history after the back-fill")
	}
	if err := backfillIfEmpty(ctx, st, 2*24*time.Hour, 1, log); err != nil {
		t.Fatal(err)
	}
	if again := count(); again != first {
		t.Fatalf("a second demo run back-filled again: %d samples, was %d", again, first)
	}
}
