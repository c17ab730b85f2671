package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crmwatch/alerts"
	"crmwatch/event"
	"crmwatch/store"
)

const alertColumns = `id, rule, alert_key, severity, state, repeat_count, first_seen, last_seen,
	resolved_at, hosts, organizations, summary, cause, resolution, fields, event_count, parent_id, assignee,
	suppressed_by, version`

// EngineAlerts returns every open alert and those resolved at or after
// resolvedSince, oldest first, so an evaluator resumes consolidation and
// can reopen recent ones (store.Alerts).
func (s *Store) EngineAlerts(ctx context.Context, resolvedSince time.Time) ([]alerts.Alert, error) {
	out, err := s.queryAlerts(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE state <> 'resolved' OR resolved_at >= $1 ORDER BY first_seen, id`, nanos(resolvedSince))
	if err != nil {
		return nil, fmt.Errorf("read open alerts from %s: %w", s.dsn, err)
	}
	return out, nil
}

// Alerts returns one page of the alerts matching f, most recently seen
// first, with the total and the children counts of the listed ones.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) (store.AlertPage, error) {
	var page store.AlertPage
	where, args := alertWhere(f)
	q := "SELECT " + alertColumns + " FROM alerts" + where + " ORDER BY last_seen DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.Offset > 0 {
		q += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	var err error
	if page.Alerts, err = s.queryAlerts(ctx, q, args...); err != nil {
		return page, fmt.Errorf("read alerts from %s: %w", s.dsn, err)
	}
	page.Total = len(page.Alerts) + f.Offset
	if f.Limit > 0 && len(page.Alerts) == f.Limit || f.Offset > 0 {
		if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM alerts"+where, args...).Scan(&page.Total); err != nil {
			return page, fmt.Errorf("count alerts in %s: %w", s.dsn, err)
		}
	}
	if page.Children, err = s.childCounts(ctx, page.Alerts); err != nil {
		return page, fmt.Errorf("count grouped alerts in %s: %w", s.dsn, err)
	}
	return page, nil
}

func (s *Store) childCounts(ctx context.Context, list []alerts.Alert) (map[string]int, error) {
	out := map[string]int{}
	for len(list) > 0 {
		n := min(len(list), 500)
		args := make([]any, n)
		for i, a := range list[:n] {
			args[i] = a.ID
		}
		rows, err := s.reader.QueryContext(ctx, `SELECT parent_id, COUNT(*) FROM alerts WHERE parent_id IN (`+
			joinPlaceholders(1, n)+`) GROUP BY parent_id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var c int
			if err := rows.Scan(&id, &c); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		list = list[n:]
	}
	return out, nil
}

// alertWhere builds the filter's WHERE clause with numbered placeholders.
func alertWhere(f store.AlertFilter) (string, []any) {
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
	if len(f.Hosts) > 0 {
		ph := make([]string, len(f.Hosts))
		for i, h := range f.Hosts {
			ph[i] = arg(h)
		}
		where = append(where, "EXISTS (SELECT 1 FROM alert_hosts h WHERE h.alert_id = alerts.id AND h.host IN ("+strings.Join(ph, ", ")+"))")
	}
	if f.Organization != "" {
		where = append(where, "EXISTS (SELECT 1 FROM alert_orgs o WHERE o.alert_id = alerts.id AND o.organization = "+arg(f.Organization)+")")
	}
	if f.Assignee != "" {
		where = append(where, "assignee = "+arg(f.Assignee))
	}
	if f.TopLevel {
		where = append(where, "parent_id = ''")
	}
	if f.Parent != "" {
		where = append(where, "parent_id = "+arg(f.Parent))
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
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
		repeat, events            int64
		cause, resolution, keyCol string
	)
	if err := r.Scan(&a.ID, &a.Rule, &keyCol, &sev, &state, &repeat, &first, &last, &resolved,
		&hosts, &orgs, &a.Summary, &cause, &resolution, &fields, &events, &a.ParentID, &a.Assignee,
		&a.SuppressedBy, &a.Version); err != nil {
		return a, err
	}
	a.Key, a.Severity, a.State, a.RepeatCount = keyCol, alerts.Severity(sev), alerts.State(state), int(repeat)
	a.EventCount = int(events)
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
	a, err := scanAlert(s.reader.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("alert %q: %w", id, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("read alert %q from %s: %w", id, s.dsn, err)
	}
	d.Alert = a
	if d.History, err = s.history(ctx, id); err != nil {
		return d, fmt.Errorf("read history of alert %q: %w", id, err)
	}
	if d.Events, err = s.events(ctx, id); err != nil {
		return d, fmt.Errorf("read events of alert %q: %w", id, err)
	}
	return d, nil
}

func (s *Store) history(ctx context.Context, id string) ([]alerts.HistoryEntry, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT at, kind, actor, state, severity, note
		FROM alert_history WHERE alert_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []alerts.HistoryEntry{}
	for rows.Next() {
		var h alerts.HistoryEntry
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
