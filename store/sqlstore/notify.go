package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
)

// ClaimNotifications implements store.NotificationLog. Candidates are
// handled in (alert, change) order so two servers claiming overlapping
// batches lock the alerts' state rows in the same order (no deadlock on
// PostgreSQL); the transaction is retried a few times when the engine
// refuses it (a deadlock or serialization failure all the same).
func (s *Store) ClaimNotifications(ctx context.Context, holder string, staleBefore time.Time, cs []store.NotifyCandidate,
	decide func(store.NotifyState, store.NotifyCandidate) store.NotifyVerdict) ([]store.Delivery, int, error) {
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b store.NotifyCandidate) int {
		if c := strings.Compare(a.AlertID, b.AlertID); c != 0 {
			return c
		}
		if a.Seq != b.Seq {
			return cmpInt(a.Seq, b.Seq)
		}
		return strings.Compare(a.Receiver, b.Receiver)
	})
	var out []store.Delivery
	var busy int
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		out, busy = out[:0], 0
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			now := s.opts.Now()
			for _, c := range sorted {
				d, send, err := s.claimOne(ctx, tx, holder, staleBefore, now, c, decide)
				switch {
				case errors.Is(err, errBusy):
					busy++
				case err != nil:
					return fmt.Errorf("change %d for receiver %q: %w", c.Seq, c.Receiver, err)
				case send:
					out = append(out, d)
				}
			}
			return nil
		})
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("claim notifications in %s: %w", s.dsn, err)
	}
	slices.SortStableFunc(out, func(a, b store.Delivery) int { return cmpInt(a.Seq, b.Seq) })
	return out, busy, nil
}

// errBusy: another claim of the delivery is still sending.
var errBusy = errors.New("claimed by a send under way")

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Store) claimOne(ctx context.Context, tx *sql.Tx, holder string, staleBefore, now time.Time, c store.NotifyCandidate,
	decide func(store.NotifyState, store.NotifyCandidate) store.NotifyVerdict) (store.Delivery, bool, error) {
	d := store.Delivery{Seq: c.Seq, Receiver: c.Receiver, AlertID: c.AlertID, Kind: c.Kind, Holder: holder, ClaimedAt: now, Result: store.DeliverySending}
	var result, status string
	var claimed int64
	var attempts int
	err := tx.QueryRowContext(ctx, `SELECT result, status, claimed_at, attempts FROM notification_log
		WHERE change_seq = $1 AND receiver = $2`+s.dialect.lockRow, c.Seq, c.Receiver).Scan(&result, &status, &claimed, &attempts)
	switch {
	case err == nil:
		// Already decided: only a claim abandoned mid-send is taken over.
		if result != store.DeliverySending {
			return d, false, nil
		}
		if !fromNanos(claimed).Before(staleBefore) {
			return d, false, errBusy
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notification_log SET holder = $1, claimed_at = $2
			WHERE change_seq = $3 AND receiver = $4`, holder, nanos(now), c.Seq, c.Receiver); err != nil {
			return d, false, err
		}
		d.Status, d.Attempts = status, attempts
		return d, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return d, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notify_state (alert_id, receiver, version, firing, severity, sent_at)
		VALUES ($1, $2, 0, 0, '', 0) ON CONFLICT (alert_id, receiver) DO NOTHING`, c.AlertID, c.Receiver); err != nil {
		return d, false, err
	}
	var prev store.NotifyState
	var firing int
	var sev string
	var sent int64
	if err := tx.QueryRowContext(ctx, `SELECT version, firing, severity, sent_at FROM notify_state
		WHERE alert_id = $1 AND receiver = $2`+s.dialect.lockRow, c.AlertID, c.Receiver).Scan(&prev.Version, &firing, &sev, &sent); err != nil {
		return d, false, err
	}
	prev.Firing, prev.Severity, prev.SentAt = firing != 0, alerts.Severity(sev), fromNanos(sent)
	if c.Version <= prev.Version {
		return d, false, nil // superseded: a newer change of the alert was decided first
	}
	v := decide(prev, c)
	next := v.Next
	next.Version = c.Version
	if _, err := tx.ExecContext(ctx, `UPDATE notify_state SET version = $1, firing = $2, severity = $3, sent_at = $4
		WHERE alert_id = $5 AND receiver = $6`, next.Version, boolInt(next.Firing), string(next.Severity), nanos(next.SentAt),
		c.AlertID, c.Receiver); err != nil {
		return d, false, err
	}
	if !v.Send {
		return d, false, nil
	}
	d.Status = v.Status
	if _, err := tx.ExecContext(ctx, `INSERT INTO notification_log (change_seq, receiver, alert_id, kind, status, result, holder, claimed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.Seq, c.Receiver, c.AlertID, string(c.Kind), d.Status, d.Result, holder, nanos(now)); err != nil {
		return d, false, err
	}
	return d, true, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FinishNotifications implements store.NotificationLog.
func (s *Store) FinishNotifications(ctx context.Context, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range ds {
			done := s.opts.Now()
			if d.DoneAt != nil {
				done = *d.DoneAt
			}
			if _, err := tx.ExecContext(ctx, `UPDATE notification_log SET result = $1, attempts = $2, error = $3, done_at = $4
				WHERE change_seq = $5 AND receiver = $6`, d.Result, d.Attempts, clean(d.Error), nanos(done), d.Seq, d.Receiver); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record notifications in %s: %w", s.dsn, err)
	}
	return nil
}

// Notifications implements store.NotificationLog.
func (s *Store) Notifications(ctx context.Context, alertID string) ([]store.Delivery, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT change_seq, receiver, alert_id, kind, status, result, attempts, error, holder, claimed_at, done_at
		FROM notification_log WHERE alert_id = $1 ORDER BY change_seq, receiver`, alertID)
	if err != nil {
		return nil, fmt.Errorf("read notifications of alert %q from %s: %w", alertID, s.dsn, err)
	}
	defer rows.Close()
	out := []store.Delivery{}
	for rows.Next() {
		var d store.Delivery
		var kind string
		var claimed int64
		var done sql.NullInt64
		if err := rows.Scan(&d.Seq, &d.Receiver, &d.AlertID, &kind, &d.Status, &d.Result, &d.Attempts, &d.Error, &d.Holder, &claimed, &done); err != nil {
			return nil, err
		}
		d.Kind, d.ClaimedAt, d.DoneAt = alerts.ChangeKind(kind), fromNanos(claimed), fromNullNanos(done)
		out = append(out, d)
	}
	return out, rows.Err()
}

// PruneNotifications implements store.NotificationLog.
func (s *Store) PruneNotifications(ctx context.Context, before time.Time) (int, error) {
	cut := nanos(before)
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A claim never finished that old was abandoned for good (its
		// receiver is no longer configured): takeovers come minutes later.
		res, err := tx.ExecContext(ctx, `DELETE FROM notification_log WHERE done_at < $1 OR (done_at IS NULL AND claimed_at < $1)`, cut)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		// What a receiver was told about an alert resolved that long ago
		// decides nothing any more; an open alert's state is kept however
		// old (an acknowledged alert gets no reminders, and its resolution
		// is still owed to the receivers told it was firing).
		if _, err := tx.ExecContext(ctx, `DELETE FROM notify_state WHERE alert_id IN
			(SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at < $1)`, cut); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM receiver_health WHERE failures = 0 AND updated_at < $1`, cut)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune the notification log in %s: %w", s.dsn, err)
	}
	return int(n), nil
}

// RecordSend implements store.NotificationLog. An accepted send writes
// only when a streak is on record, so a receiver that works costs one
// read per send, not a write.
func (s *Store) RecordSend(ctx context.Context, receiver string, ok bool, errText string, at time.Time) error {
	if ok {
		var failures int64
		err := s.reader.QueryRowContext(ctx, `SELECT failures FROM receiver_health WHERE receiver = $1`, receiver).Scan(&failures)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && failures == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the health of receiver %q from %s: %w", receiver, s.dsn, err)
		}
		if _, err := s.writer.ExecContext(ctx, `UPDATE receiver_health SET failures = 0, failing_since = 0, updated_at = $1
			WHERE receiver = $2`, nanos(at), receiver); err != nil {
			return fmt.Errorf("record the health of receiver %q in %s: %w", receiver, s.dsn, err)
		}
		return nil
	}
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO receiver_health (receiver, failures, failing_since, last_error, updated_at)
		VALUES ($1, 1, $2, $3, $2)
		ON CONFLICT (receiver) DO UPDATE SET failures = receiver_health.failures + 1,
			failing_since = CASE WHEN receiver_health.failures = 0 THEN excluded.failing_since ELSE receiver_health.failing_since END,
			last_error = excluded.last_error, updated_at = excluded.updated_at`, receiver, nanos(at), clean(errText)); err != nil {
		return fmt.Errorf("record the health of receiver %q in %s: %w", receiver, s.dsn, err)
	}
	return nil
}

// ReceiverHealth implements store.NotificationLog.
func (s *Store) ReceiverHealth(ctx context.Context) ([]store.ReceiverHealth, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT receiver, failures, failing_since, last_error, updated_at
		FROM receiver_health WHERE failures > 0 ORDER BY receiver`)
	if err != nil {
		return nil, fmt.Errorf("read receiver health from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	var out []store.ReceiverHealth
	for rows.Next() {
		var h store.ReceiverHealth
		var since, updated int64
		if err := rows.Scan(&h.Receiver, &h.Failures, &since, &h.LastError, &updated); err != nil {
			return nil, err
		}
		h.FailingSince, h.UpdatedAt = fromNanos(since), fromNanos(updated)
		out = append(out, h)
	}
	return out, rows.Err()
}
