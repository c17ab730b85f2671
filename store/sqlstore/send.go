package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"crmwatch/alerts"
)

// The lifecycle only moves forward (new → acknowledged → resolved): a repeat
// of an acknowledged alert stays acknowledged and a resolved alert stays
// resolved. Repeat counts and last-seen only grow, so an operator's change
// made on a slightly stale copy of the alert never rolls them back. Doing the merge in the upsert keeps it atomic on both engines
// without row locks.
const upsertAlert = `INSERT INTO alerts (id, rule, alert_key, severity, severity_rank, state,
	repeat_count, first_seen, last_seen, resolved_at, hosts, organizations, summary,
	cause, resolution, fields, event_count)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET
	rule = excluded.rule,
	alert_key = excluded.alert_key,
	severity = excluded.severity,
	severity_rank = excluded.severity_rank,
	state = CASE
		WHEN alerts.state = 'resolved' OR excluded.state = 'resolved' THEN 'resolved'
		WHEN alerts.state = 'acknowledged' OR excluded.state = 'acknowledged' THEN 'acknowledged'
		ELSE excluded.state END,
	repeat_count = CASE WHEN alerts.repeat_count > excluded.repeat_count
		THEN alerts.repeat_count ELSE excluded.repeat_count END,
	first_seen = CASE WHEN alerts.first_seen <> 0 AND alerts.first_seen < excluded.first_seen
		THEN alerts.first_seen ELSE excluded.first_seen END,
	last_seen = CASE WHEN alerts.last_seen > excluded.last_seen
		THEN alerts.last_seen ELSE excluded.last_seen END,
	resolved_at = COALESCE(alerts.resolved_at, excluded.resolved_at),
	hosts = excluded.hosts,
	organizations = excluded.organizations,
	summary = excluded.summary,
	cause = excluded.cause,
	resolution = excluded.resolution,
	fields = excluded.fields,
	event_count = alerts.event_count + excluded.event_count
RETURNING state, event_count`

// Send persists changes in order in one transaction (store.Store).
func (s *Store) Send(ctx context.Context, changes []alerts.Change) error {
	if len(changes) == 0 {
		return nil
	}
	for i := range changes {
		if err := validateChange(&changes[i]); err != nil {
			return fmt.Errorf("store alert changes: change %d: %w", i, err)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i := range changes {
			if err := s.apply(ctx, tx, &changes[i]); err != nil {
				return fmt.Errorf("alert %q (%s): %w", changes[i].Alert.ID, changes[i].Kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store alert changes in %s: %w", s.dsn, err)
	}
	return nil
}

func validateChange(c *alerts.Change) error {
	var errs []error
	if c.Alert.ID == "" {
		errs = append(errs, errors.New("alert has no id"))
	}
	switch c.Kind {
	case alerts.ChangeRaised, alerts.ChangeRepeated, alerts.ChangeEscalated, alerts.ChangeResolved, alerts.ChangeAcknowledged:
	default:
		errs = append(errs, fmt.Errorf("unknown change kind %q", c.Kind))
	}
	if c.Alert.Severity.Rank() == 0 {
		errs = append(errs, fmt.Errorf("unknown severity %q", c.Alert.Severity))
	}
	switch c.Alert.State {
	case alerts.StateNew, alerts.StateAcknowledged, alerts.StateResolved:
	default:
		errs = append(errs, fmt.Errorf("unknown state %q", c.Alert.State))
	}
	return errors.Join(errs...)
}

// recorded reports whether a change kind gets a history row; repeats only
// bump the counters.
func recorded(k alerts.ChangeKind) bool { return k != alerts.ChangeRepeated }

func (s *Store) apply(ctx context.Context, tx *sql.Tx, c *alerts.Change) error {
	a := c.Alert
	at := c.At
	if at.IsZero() {
		at = s.opts.Now()
	}
	// The change kind decides the state an operator or the engine asked for.
	switch c.Kind {
	case alerts.ChangeResolved:
		a.State = alerts.StateResolved
	case alerts.ChangeAcknowledged:
		if a.State != alerts.StateResolved {
			a.State = alerts.StateAcknowledged
		}
	}
	var resolvedAt sql.NullInt64
	if a.State == alerts.StateResolved {
		resolvedAt = nullNanos(a.ResolvedAt)
		if !resolvedAt.Valid {
			resolvedAt = sql.NullInt64{Int64: at.UnixNano(), Valid: true}
		}
	}
	hosts, err := jsonList(a.Hosts)
	if err != nil {
		return err
	}
	orgs, err := jsonList(a.Organizations)
	if err != nil {
		return err
	}
	fields, err := json.Marshal(nonNilMap(a.Fields))
	if err != nil {
		return fmt.Errorf("encode fields: %w", err)
	}
	prevHosts, existed, err := currentHosts(ctx, tx, a.ID)
	if err != nil {
		return err
	}
	var state string
	var count int64
	err = tx.QueryRowContext(ctx, upsertAlert, a.ID, a.Rule, a.Key, string(a.Severity), a.Severity.Rank(),
		string(a.State), a.RepeatCount, nanos(a.FirstSeen), nanos(a.LastSeen), resolvedAt, hosts, orgs,
		a.Summary, a.Knowledge.Cause, a.Knowledge.Resolution, string(fields), len(c.Events)).Scan(&state, &count)
	if err != nil {
		return fmt.Errorf("upsert alert: %w", err)
	}
	if !existed || prevHosts != hosts {
		if err := indexHosts(ctx, tx, a.ID, a.Hosts, existed); err != nil {
			return err
		}
	}
	if recorded(c.Kind) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, at, kind, actor, state, severity)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, nanos(at), string(c.Kind), c.By, state, string(a.Severity)); err != nil {
			return fmt.Errorf("append history: %w", err)
		}
	}
	return s.keepEvents(ctx, tx, c, count)
}

func currentHosts(ctx context.Context, tx *sql.Tx, id string) (hosts string, existed bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT hosts FROM alerts WHERE id = $1`, id).Scan(&hosts)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read alert: %w", err)
	}
	return hosts, true, nil
}

// indexHosts rewrites the host index of an alert; it runs only when the host
// list changed, so repeats cost no extra statements.
func indexHosts(ctx context.Context, tx *sql.Tx, id string, hosts []string, existed bool) error {
	if existed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_hosts WHERE alert_id = $1`, id); err != nil {
			return fmt.Errorf("reindex hosts: %w", err)
		}
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_hosts (alert_id, host) VALUES ($1, $2)`, id, h); err != nil {
			return fmt.Errorf("index host %q: %w", h, err)
		}
	}
	return nil
}

// keepEvents numbers the change's events after the ones already counted and
// stores only those among the first KeepFirstEvents or the latest
// KeepLastEvents, dropping older middle ones.
func (s *Store) keepEvents(ctx context.Context, tx *sql.Tx, c *alerts.Change, total int64) error {
	if len(c.Events) == 0 {
		return nil
	}
	first, last := int64(s.opts.KeepFirstEvents), int64(s.opts.KeepLastEvents)
	before := total - int64(len(c.Events))
	for i := range c.Events {
		seq := before + int64(i) + 1
		if seq > first && seq <= total-last {
			continue
		}
		data, err := json.Marshal(&c.Events[i])
		if err != nil {
			return fmt.Errorf("encode event %d: %w", seq, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_events (alert_id, seq, data) VALUES ($1, $2, $3)`,
			c.Alert.ID, seq, string(data)); err != nil {
			return fmt.Errorf("store event %d: %w", seq, err)
		}
	}
	if before > first && total-last > first {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_events WHERE alert_id = $1 AND seq > $2 AND seq <= $3`,
			c.Alert.ID, first, total-last); err != nil {
			return fmt.Errorf("trim events: %w", err)
		}
	}
	return nil
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
