package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/store"
)

const alertColumns = `id, rule, alert_key, severity, state, repeat_count, first_seen, last_seen,
	resolved_at, hosts, organizations, summary, cause, resolution, fields`

// OpenAlerts returns every alert not resolved, oldest first, so the engine
// resumes consolidation after a restart.
func (s *Store) OpenAlerts(ctx context.Context) ([]alerts.Alert, error) {
	out, err := s.queryAlerts(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE state <> 'resolved' ORDER BY first_seen, id`)
	if err != nil {
		return nil, fmt.Errorf("read open alerts from %s: %w", s.dsn, err)
	}
	return out, nil
}

// Alerts returns the alerts matching f, most recently seen first.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]alerts.Alert, error) {
	q, args := alertQuery(f)
	out, err := s.queryAlerts(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read alerts from %s: %w", s.dsn, err)
	}
	return out, nil
}

// alertQuery builds the filtered SELECT with numbered placeholders.
func alertQuery(f store.AlertFilter) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, st := range f.States {
			ph[i] = arg(string(st))
		}
		where = append(where, "state IN ("+strings.Join(ph, ", ")+")")
	}
	if r := f.Severity.Rank(); r > 0 {
		where = append(where, "severity_rank >= "+arg(r))
	}
	if f.Rule != "" {
		where = append(where, "rule = "+arg(f.Rule))
	}
	if f.Host != "" {
		where = append(where, "EXISTS (SELECT 1 FROM alert_hosts h WHERE h.alert_id = alerts.id AND h.host = "+arg(f.Host)+")")
	}
	q := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY last_seen DESC, id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args
}

func (s *Store) queryAlerts(ctx context.Context, q string, args ...any) ([]alerts.Alert, error) {
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []alerts.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanAlert(r scanner) (alerts.Alert, error) {
	var (
		a                         alerts.Alert
		sev, state                string
		first, last               int64
		resolved                  sql.NullInt64
		hosts, orgs, fields       string
		repeat                    int64
		cause, resolution, keyCol string
	)
	if err := r.Scan(&a.ID, &a.Rule, &keyCol, &sev, &state, &repeat, &first, &last, &resolved,
		&hosts, &orgs, &a.Summary, &cause, &resolution, &fields); err != nil {
		return a, err
	}
	a.Key, a.Severity, a.State, a.RepeatCount = keyCol, alerts.Severity(sev), alerts.State(state), int(repeat)
	a.FirstSeen, a.LastSeen, a.ResolvedAt = fromNanos(first), fromNanos(last), fromNullNanos(resolved)
	a.Knowledge = alerts.Knowledge{Cause: cause, Resolution: resolution}
	if err := json.Unmarshal([]byte(hosts), &a.Hosts); err != nil {
		return a, fmt.Errorf("alert %q: decode hosts: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(orgs), &a.Organizations); err != nil {
		return a, fmt.Errorf("alert %q: decode organizations: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(fields), &a.Fields); err != nil {
		return a, fmt.Errorf("alert %q: decode fields: %w", a.ID, err)
	}
	if len(a.Fields) == 0 {
		a.Fields = nil
	}
	return a, nil
}

// Alert returns one alert with its history and kept events; store.ErrNotFound
// if there is none.
func (s *Store) Alert(ctx context.Context, id string) (store.AlertDetail, error) {
	var d store.AlertDetail
	var count int64
	row := s.reader.QueryRowContext(ctx, `SELECT `+alertColumns+`, event_count FROM alerts WHERE id = $1`, id)
	a, err := scanAlert(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &count)...) }))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("alert %q: %w", id, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("read alert %q from %s: %w", id, s.dsn, err)
	}
	d.Alert, d.EventCount = a, int(count)
	if d.History, err = s.history(ctx, id); err != nil {
		return d, fmt.Errorf("read history of alert %q: %w", id, err)
	}
	if d.Events, err = s.events(ctx, id); err != nil {
		return d, fmt.Errorf("read events of alert %q: %w", id, err)
	}
	return d, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func (s *Store) history(ctx context.Context, id string) ([]store.HistoryEntry, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT at, kind, actor, state, severity, note
		FROM alert_history WHERE alert_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.HistoryEntry{}
	for rows.Next() {
		var h store.HistoryEntry
		var at int64
		var kind, state, sev string
		if err := rows.Scan(&at, &kind, &h.By, &state, &sev, &h.Note); err != nil {
			return nil, err
		}
		h.At, h.Kind, h.State, h.Severity = fromNanos(at), alerts.ChangeKind(kind), alerts.State(state), alerts.Severity(sev)
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s *Store) events(ctx context.Context, id string) ([]event.Event, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT seq, data FROM alert_events WHERE alert_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		var seq int64
		var data string
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, err
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", seq, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
