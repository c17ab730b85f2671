package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"crmwatch/alerts/suppress"
	"crmwatch/store"
)

// AddWindow stores a maintenance window (store.Suppressions).
func (s *Store) AddWindow(ctx context.Context, w suppress.Window) error {
	data, err := json.Marshal(&w)
	if err != nil {
		return fmt.Errorf("encode maintenance window: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO maintenance_windows (id, data, created_at) VALUES ($1, $2, $3)`,
		w.ID, string(data), nanos(w.CreatedAt)); err != nil {
		return fmt.Errorf("add maintenance window to %s: %w", s.dsn, err)
	}
	return nil
}

// Windows lists the maintenance windows, oldest first (store.Suppressions).
func (s *Store) Windows(ctx context.Context) ([]suppress.Window, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT data FROM maintenance_windows ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read maintenance windows from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	out := []suppress.Window{}
	for rows.Next() {
		var data string
		var w suppress.Window
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &w); err != nil {
			return nil, fmt.Errorf("decode maintenance window: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// RemoveWindow deletes a window (store.Suppressions).
func (s *Store) RemoveWindow(ctx context.Context, id string) error {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM maintenance_windows WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("remove maintenance window from %s: %w", s.dsn, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("maintenance window %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// AddSilence stores a silence (store.Suppressions).
func (s *Store) AddSilence(ctx context.Context, x suppress.Silence) error {
	data, err := json.Marshal(&x)
	if err != nil {
		return fmt.Errorf("encode silence: %w", err)
	}
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO silences (id, data, end_at, created_at) VALUES ($1, $2, $3, $4)`,
		x.ID, string(data), nanos(x.End), nanos(x.CreatedAt)); err != nil {
		return fmt.Errorf("add silence to %s: %w", s.dsn, err)
	}
	return nil
}

// Silences lists every silence, newest first (store.Suppressions).
func (s *Store) Silences(ctx context.Context) ([]suppress.Silence, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT data, expired_at FROM silences ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("read silences from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	out := []suppress.Silence{}
	for rows.Next() {
		var data string
		var x suppress.Silence
		var expired sql.NullInt64
		if err := rows.Scan(&data, &expired); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &x); err != nil {
			return nil, fmt.Errorf("decode silence: %w", err)
		}
		x.ExpiredAt = fromNullNanos(expired)
		out = append(out, x)
	}
	return out, rows.Err()
}

// ExpireSilence ends a silence early (store.Suppressions); expiring twice
// keeps the first time.
func (s *Store) ExpireSilence(ctx context.Context, id string, at time.Time) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE silences SET expired_at = COALESCE(expired_at, $2) WHERE id = $1`, id, nanos(at))
	if err != nil {
		return fmt.Errorf("expire silence in %s: %w", s.dsn, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("silence %q: %w", id, store.ErrNotFound)
	}
	return nil
}
