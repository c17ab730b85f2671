package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"crmwatch/store"
)

// Fence records that holder took the evaluator role at epoch (store.Evaluator).
// Epochs only grow: a stale holder is refused with store.ErrFenced. The
// update waits for a commit that holds the row (checkFence), so the new
// holder reads everything the old one committed.
func (s *Store) Fence(ctx context.Context, holder string, epoch int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT epoch FROM evaluator WHERE id = 1`+s.dialect.lockRow).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO evaluator (id, epoch, holder, since) VALUES (1, $1, $2, $3)`,
				epoch, holder, nanos(s.opts.Now()))
			return err
		case err != nil:
			return fmt.Errorf("read evaluator epoch: %w", err)
		case cur > epoch:
			return fmt.Errorf("%w (epoch %d is newer than %d)", store.ErrFenced, cur, epoch)
		}
		_, err = tx.ExecContext(ctx, `UPDATE evaluator SET epoch = $1, holder = $2, since = $3 WHERE id = 1`,
			epoch, holder, nanos(s.opts.Now()))
		return err
	})
}

// checkFence holds the evaluator row for the transaction and refuses a
// commit under any epoch but the recorded one.
func (s *Store) checkFence(ctx context.Context, tx sqlTx, epoch int64) error {
	var cur int64
	err := tx.QueryRowContext(ctx, `SELECT epoch FROM evaluator WHERE id = 1`+s.dialect.lockRow).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w (no evaluator recorded; Fence first)", store.ErrFenced)
	case err != nil:
		return fmt.Errorf("read evaluator epoch: %w", err)
	case cur != epoch:
		return fmt.Errorf("%w (epoch %d, this server's is %d)", store.ErrFenced, cur, epoch)
	}
	return nil
}

// Progress returns the evaluator's epoch and stream positions (store.Evaluator).
func (s *Store) Progress(ctx context.Context) (store.Progress, error) {
	p := store.Progress{Positions: map[string]uint64{}}
	err := s.reader.QueryRowContext(ctx, `SELECT epoch, holder FROM evaluator WHERE id = 1`).Scan(&p.Epoch, &p.Holder)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("read evaluator from %s: %w", s.dsn, err)
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT stream, seq FROM stream_positions`)
	if err != nil {
		return p, fmt.Errorf("read stream positions from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return p, err
		}
		p.Positions[name] = uint64(seq)
	}
	return p, rows.Err()
}

// Mark returns a dedup mark (store.Evaluator).
func (s *Store) Mark(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.reader.QueryRowContext(ctx, `SELECT value FROM ingest_marks WHERE mark_key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read dedup mark from %s: %w", s.dsn, err)
	}
	return v, true, nil
}

// PruneMarks drops marks not updated since before (store.Evaluator).
func (s *Store) PruneMarks(ctx context.Context, before time.Time) (int, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM ingest_marks WHERE updated_at < $1`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("prune dedup marks in %s: %w", s.dsn, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
