package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"crmwatch/alerts"
)

// enqueue writes a committed change to the outbox and returns it with its
// number. The number comes from the outbox's own sequence, so changes are
// numbered in the order their transactions wrote them.
func (s *Store) enqueue(ctx context.Context, tx sqlTx, c alerts.Committed) (alerts.Committed, error) {
	data, err := json.Marshal(&c)
	if err != nil {
		return c, fmt.Errorf("encode committed change: %w", err)
	}
	var seq int64
	err = tx.QueryRowContext(ctx, `INSERT INTO alert_changes (alert_id, kind, at, data, committed_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING seq`, c.Alert.ID, string(c.Kind), nanos(c.At), string(data), nanos(s.opts.Now())).Scan(&seq)
	if err != nil {
		return c, fmt.Errorf("queue committed change: %w", err)
	}
	c.Seq = seq
	return c, nil
}

// Unpublished returns changes not yet published, oldest first, committed
// at or before olderThan (store.Outbox).
func (s *Store) Unpublished(ctx context.Context, olderThan time.Time, limit int) ([]alerts.Committed, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT seq, data FROM alert_changes
		WHERE published = 0 AND committed_at <= $1 ORDER BY seq LIMIT $2`, nanos(olderThan), limit)
	if err != nil {
		return nil, fmt.Errorf("read unpublished alert changes from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	var out []alerts.Committed
	for rows.Next() {
		var seq int64
		var data string
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, err
		}
		var c alerts.Committed
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return nil, fmt.Errorf("decode alert change %d: %w", seq, err)
		}
		c.Seq = seq
		out = append(out, c)
	}
	return out, rows.Err()
}

// MarkPublished records that changes reached the stream (store.Outbox).
func (s *Store) MarkPublished(ctx context.Context, seqs []int64) error {
	for len(seqs) > 0 {
		n := min(len(seqs), 500)
		args := make([]any, n)
		for i, q := range seqs[:n] {
			args[i] = q
		}
		if _, err := s.writer.ExecContext(ctx, `UPDATE alert_changes SET published = 1 WHERE seq IN (`+joinPlaceholders(1, n)+`)`, args...); err != nil {
			return fmt.Errorf("mark alert changes published in %s: %w", s.dsn, err)
		}
		seqs = seqs[n:]
	}
	return nil
}

// PruneChanges drops published changes committed before before
// (store.Outbox); the alert history keeps what people need.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM alert_changes WHERE published = 1 AND committed_at < $1`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("prune alert changes in %s: %w", s.dsn, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
