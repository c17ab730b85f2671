package server

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"crmwatch/store"
)

// A store slower than the commit deadline still takes the batch: each
// attempt that ran out of time gives the next twice as long. Before, the
// same too-short deadline was retried for ever (seen with thousands of
// changes on an overloaded machine).
func TestRetryCommitOutlastsASlowStore(t *testing.T) {
	defer func(d time.Duration) { commitTimeout = d }(commitTimeout)
	commitTimeout = 40 * time.Millisecond
	const needs = 130 * time.Millisecond // the store's time for this batch
	var deadlines []time.Duration
	// The store finishes when the attempt's deadline leaves it enough time
	// and otherwise runs into the deadline; deciding by the deadline, not
	// by racing two timers, keeps the test exact on a loaded machine.
	slow := func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		left := time.Until(dl)
		deadlines = append(deadlines, left.Round(10*time.Millisecond))
		if left >= needs {
			return nil
		}
		<-ctx.Done()
		return fmt.Errorf("write alert: %w", ctx.Err())
	}
	stored, err := retryCommit(context.Background(), slog.New(slog.DiscardHandler), 2901, slow)
	if !stored || err != nil {
		t.Fatalf("stored=%v err=%v after attempts with deadlines %v", stored, err, deadlines)
	}
	if len(deadlines) != 3 || deadlines[1] < 2*deadlines[0]-10*time.Millisecond {
		t.Errorf("attempt deadlines %v: want three, each about twice the last", deadlines)
	}

	// A fenced commit ends at once; a stop between attempts stores nothing.
	if stored, err := retryCommit(context.Background(), slog.New(slog.DiscardHandler), 1, func(context.Context) error { return store.ErrFenced }); stored || err != store.ErrFenced {
		t.Errorf("fenced: stored=%v err=%v", stored, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if stored, err := retryCommit(ctx, slog.New(slog.DiscardHandler), 1, func(context.Context) error { return fmt.Errorf("database is locked") }); stored || err != nil {
		t.Errorf("stopped: stored=%v err=%v", stored, err)
	}
}
