package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"crmwatch/alerts"
	"crmwatch/store"
)

// Commit merges the engine's changes into the stored alerts (alerts.Merge),
// numbers them in the outbox, and stores the evaluator's stream positions
// and dedup marks, all in one transaction (store.Alerts). Under an epoch it
// first checks the fencing token, holding the row so a take-over waits for
// this commit.
func (s *Store) Commit(ctx context.Context, c store.Commit) ([]alerts.Committed, error) {
	for i := range c.Changes {
		if err := validateChange(&c.Changes[i]); err != nil {
			return nil, fmt.Errorf("store alert changes: change %d: %w", i, err)
		}
	}
	var out []alerts.Committed
	err := s.inCachedTx(ctx, func(tx *cachedTx) error {
		out = out[:0]
		if c.Epoch != 0 {
			if err := s.checkFence(ctx, tx, c.Epoch); err != nil {
				return err
			}
		}
		cache := map[string]*alerts.Alert{}
		for i := range c.Changes {
			ch := &c.Changes[i]
			cm, err := s.mergeOne(ctx, tx, cache, ch)
			if err != nil {
				return fmt.Errorf("alert %q (%s): %w", ch.Alert.ID, ch.Kind, err)
			}
			out = append(out, cm)
		}
		if err := s.savePositions(ctx, tx, c.Positions); err != nil {
			return err
		}
		return s.saveMarks(ctx, tx, c.Marks)
	})
	if err != nil {
		if errors.Is(err, store.ErrFenced) {
			return nil, err
		}
		return nil, fmt.Errorf("store alert changes in %s: %w", s.dsn, err)
	}
	return out, nil
}

func validateChange(c *alerts.Change) error {
	var errs []error
	if c.Alert.ID == "" {
		errs = append(errs, errors.New("alert has no id"))
	}
	if !c.Kind.Valid() {
		errs = append(errs, fmt.Errorf("unknown change kind %q", c.Kind))
	}
	if c.Alert.Severity.Rank() == 0 {
		errs = append(errs, fmt.Errorf("unknown severity %q", c.Alert.Severity))
	}
	if c.Alert.State != "" && !c.Alert.State.Valid() {
		errs = append(errs, fmt.Errorf("unknown state %q", c.Alert.State))
	}
	return errors.Join(errs...)
}

// mergeOne applies one engine change; cache holds alerts already read or
// written in this transaction.
func (s *Store) mergeOne(ctx context.Context, tx sqlTx, cache map[string]*alerts.Alert, c *alerts.Change) (alerts.Committed, error) {
	cur, ok := cache[c.Alert.ID]
	if !ok {
		a, err := s.lockAlert(ctx, tx, c.Alert.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return alerts.Committed{}, err
		default:
			cur = &a
		}
	}
	at := c.At
	if at.IsZero() {
		at = s.opts.Now()
		c.At = at
	}
	next, h := alerts.Merge(cur, *c)
	if err := s.writeAlert(ctx, tx, cur, &next); err != nil {
		return alerts.Committed{}, err
	}
	cache[next.ID] = &next
	if h != nil {
		if err := insertHistory(ctx, tx, next.ID, h); err != nil {
			return alerts.Committed{}, err
		}
	}
	before := 0
	if cur != nil {
		before = cur.EventCount
	}
	if err := s.keepEvents(ctx, tx, c, int64(before), int64(next.EventCount)); err != nil {
		return alerts.Committed{}, err
	}
	kind := c.Kind
	if h != nil {
		kind = h.Kind // e.g. a repeat that reopened an operator-resolved alert
	}
	cm := alerts.Committed{Kind: kind, Alert: next, Events: c.Events, EventCount: c.EventCount, At: c.At, By: c.By, Note: c.Note}
	return s.enqueue(ctx, tx, cm)
}

// Act applies an operator action to one alert and audits it, in one
// transaction (store.Alerts).
func (s *Store) Act(ctx context.Context, id string, x alerts.Action) (alerts.Committed, error) {
	if x.At.IsZero() {
		x.At = s.opts.Now()
	}
	if err := x.Validate(); err != nil {
		return alerts.Committed{}, err
	}
	var out alerts.Committed
	err := s.inCachedTx(ctx, func(tx *cachedTx) error {
		cur, err := s.lockAlert(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("alert %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		next, h, err := x.Apply(cur)
		if err != nil {
			return err
		}
		if err := s.writeAlert(ctx, tx, &cur, &next); err != nil {
			return err
		}
		if err := insertHistory(ctx, tx, id, &h); err != nil {
			return err
		}
		detail := x.Note
		if x.Kind == alerts.ChangeAssigned {
			detail = h.Note
		}
		if err := auditTx(ctx, tx.Tx, store.AuditEntry{At: x.At, Actor: x.By, Action: AuditAction(x.Kind), Target: id, Detail: detail}); err != nil {
			return err
		}
		out, err = s.enqueue(ctx, tx, alerts.Committed{Kind: x.Kind, Alert: next, At: x.At, By: x.By, Note: x.Note})
		return err
	})
	var ce *alerts.ConflictError
	switch {
	case err == nil, errors.As(err, &ce), errors.Is(err, store.ErrNotFound):
		return out, err
	}
	return out, fmt.Errorf("%s alert %q in %s: %w", x.Kind, id, s.dsn, err)
}

// AuditAction is the audit log's name for an operator action on alerts.
func AuditAction(k alerts.ChangeKind) string {
	switch k {
	case alerts.ChangeAcknowledged:
		return "alert.acknowledge"
	case alerts.ChangeResolved:
		return "alert.resolve"
	case alerts.ChangeCommented:
		return "alert.comment"
	case alerts.ChangeAssigned:
		return "alert.assign"
	}
	return "alert." + string(k)
}

// lockAlert reads one alert inside a write transaction, locking its row
// on PostgreSQL (SQLite's single writer already serialises).
func (s *Store) lockAlert(ctx context.Context, tx sqlTx, id string) (alerts.Alert, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`+s.dialect.lockRow, id)
	return scanAlert(row)
}

// writeAlert inserts next or updates it over cur, and keeps the host and
// organization indexes in step when their lists changed.
func (s *Store) writeAlert(ctx context.Context, tx sqlTx, cur, next *alerts.Alert) error {
	hosts, err := jsonList(next.Hosts)
	if err != nil {
		return err
	}
	orgs, err := jsonList(next.Organizations)
	if err != nil {
		return err
	}
	fields, err := json.Marshal(nonNilMap(next.Fields))
	if err != nil {
		return fmt.Errorf("encode fields: %w", err)
	}
	args := []any{next.ID, clean(next.Rule), clean(next.Key), string(next.Severity), next.Severity.Rank(), string(next.State),
		next.RepeatCount, nanos(next.FirstSeen), nanos(next.LastSeen), nullNanos(next.ResolvedAt), hosts, orgs,
		clean(next.Summary), clean(next.Knowledge.Cause), clean(next.Knowledge.Resolution), string(fields), next.EventCount,
		clean(next.ParentID), clean(next.Assignee), clean(next.SuppressedBy), next.Version}
	if cur == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, rule, alert_key, severity, severity_rank, state,
			repeat_count, first_seen, last_seen, resolved_at, hosts, organizations, summary, cause, resolution,
			fields, event_count, parent_id, assignee, suppressed_by, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, args...)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET rule = $2, alert_key = $3, severity = $4, severity_rank = $5,
			state = $6, repeat_count = $7, first_seen = $8, last_seen = $9, resolved_at = $10, hosts = $11,
			organizations = $12, summary = $13, cause = $14, resolution = $15, fields = $16, event_count = $17,
			parent_id = $18, assignee = $19, suppressed_by = $20, version = $21 WHERE id = $1`, args...)
	}
	if err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	existed := cur != nil
	if !existed || !slices.Equal(cur.Hosts, next.Hosts) {
		if err := indexValues(ctx, tx, "alert_hosts", "host", next.ID, next.Hosts, existed); err != nil {
			return err
		}
	}
	if !existed || !slices.Equal(cur.Organizations, next.Organizations) {
		if err := indexValues(ctx, tx, "alert_orgs", "organization", next.ID, next.Organizations, existed); err != nil {
			return err
		}
	}
	return nil
}

// indexValues rewrites one of the alert's lookup tables (alert_hosts,
// alert_orgs); it runs only when the list changed, so repeats cost no
// extra statements.
func indexValues(ctx context.Context, tx sqlTx, table, column, id string, values []string, existed bool) error {
	if existed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE alert_id = $1`, id); err != nil {
			return fmt.Errorf("reindex %s: %w", table, err)
		}
	}
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if v == "" || seen[clean(v)] {
			continue
		}
		seen[clean(v)] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (alert_id, `+column+`) VALUES ($1, $2)`, id, clean(v)); err != nil {
			return fmt.Errorf("index %s %q: %w", column, v, err)
		}
	}
	return nil
}

func insertHistory(ctx context.Context, tx sqlTx, id string, h *alerts.HistoryEntry) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, at, kind, actor, state, severity, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, nanos(h.At), string(h.Kind), clean(h.By), string(h.State), string(h.Severity), clean(h.Note)); err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	return nil
}

// keepEvents numbers the change's events among all the alert's events
// (before of them were counted already, total after this change) and
// stores those the StoredEvents bound keeps, dropping older middle ones.
func (s *Store) keepEvents(ctx context.Context, tx sqlTx, c *alerts.Change, before, total int64) error {
	if len(c.Events) == 0 {
		return nil
	}
	n := max(c.EventCount, len(c.Events))
	b := s.opts.KeepEvents
	for i := range c.Events {
		pos := i + 1 // every event of the change is present
		if len(c.Events) < n {
			pos = alerts.ChangeEvents.Index(i, n) // the engine's first-and-latest sample
		}
		seq := before + int64(pos)
		if !b.Keep(seq, total) {
			continue
		}
		data, err := json.Marshal(&c.Events[i])
		if err != nil {
			return fmt.Errorf("encode event %d: %w", seq, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_events (alert_id, seq, data) VALUES ($1, $2, $3)
			ON CONFLICT (alert_id, seq) DO NOTHING`, c.Alert.ID, seq, string(data)); err != nil {
			return fmt.Errorf("store event %d: %w", seq, err)
		}
	}
	first, last := int64(b.First), int64(b.Last)
	if before > first && total-last > first {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_events WHERE alert_id = $1 AND seq > $2 AND seq <= $3`,
			c.Alert.ID, first, total-last); err != nil {
			return fmt.Errorf("trim events: %w", err)
		}
	}
	return nil
}

func (s *Store) savePositions(ctx context.Context, tx sqlTx, pos map[string]uint64) error {
	for _, stream := range slices.Sorted(maps.Keys(pos)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO stream_positions (stream, seq) VALUES ($1, $2)
			ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq`, stream, int64(pos[stream])); err != nil {
			return fmt.Errorf("save position of stream %s: %w", stream, err)
		}
	}
	return nil
}

func (s *Store) saveMarks(ctx context.Context, tx sqlTx, marks map[string]string) error {
	now := nanos(s.opts.Now())
	for _, k := range slices.Sorted(maps.Keys(marks)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_marks (mark_key, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (mark_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, marks[k], now); err != nil {
			return fmt.Errorf("save dedup mark %q: %w", k, err)
		}
	}
	return nil
}

// clean makes text every engine stores: PostgreSQL refuses NUL bytes and
// invalid UTF-8 in text columns, and an agent (or a bogus message) may send
// either in a host name, organization or message; refusing the commit
// would stop ingest on one bad record.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func jsonList(v []string) (string, error) {
	if v == nil {
		v = []string{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// joinPlaceholders renders $from … $to.
func joinPlaceholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}
