package demo

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"crmwatch/capacity/backfill"
	"crmwatch/capacity/rollup"
	"crmwatch/store/sqlstore"
)

// DefaultBackfill is how much capacity history the demo writes into a
// store that has none, so `crmwatch report capacity` shows a real report
// at once.
const DefaultBackfill = 30 * 24 * time.Hour

// errHasHistory stops the look for history at the first bucket.
var errHasHistory = errors.New("has history")

// backfillIfEmpty writes span of simulated capacity history into st unless
// it holds daily rollups already (a demo run again keeps what it has and
// never counts the history twice). It runs beside the demo.
func backfillIfEmpty(ctx context.Context, st *sqlstore.Store, span time.Duration, hosts int, log *slog.Logger) error {
	now := time.Now()
	err := st.ScanSeries(ctx, rollup.Day, now.Add(-span-48*time.Hour), now.Add(time.Hour), func(*rollup.SeriesRow) error { return errHasHistory })
	if errors.Is(err, errHasHistory) {
		log.Info("capacity history already in the store; no back-fill")
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("back-filling capacity history for the capacity report", "days", int(span.Hours()/24))
	res, err := backfill.Run(ctx, st, backfill.Options{Span: span, End: now, Hosts: hosts})
	if err != nil {
		return err
	}
	log.Info("capacity history back-filled: try crmwatch report capacity", "samples", res.Samples, "series", res.Series, "from", res.From)
	return nil
}
