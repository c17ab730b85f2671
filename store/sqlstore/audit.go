package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"crmwatch/store"
)

// Audit appends one entry to the audit log (store.Auditor).
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	if _, err := s.writer.ExecContext(ctx, auditInsert, nanos(e.At), clean(e.Actor), e.Action, clean(e.Target), clean(e.Detail)); err != nil {
		return fmt.Errorf("write audit entry %q by %q to %s: %w", e.Action, e.Actor, s.dsn, err)
	}
	return nil
}

const auditInsert = `INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`

// auditTx appends an audit entry inside a transaction, so a change and its
// audit entry are stored together or not at all.
func auditTx(ctx context.Context, tx *sql.Tx, e store.AuditEntry) error {
	if _, err := tx.ExecContext(ctx, auditInsert, nanos(e.At), clean(e.Actor), e.Action, clean(e.Target), clean(e.Detail)); err != nil {
		return fmt.Errorf("write audit entry %q: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the entries matching f, newest first (store.Auditor);
// Limit <= 0 returns all.
func (s *Store) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		args = append(args, nanos(f.Since))
		where = append(where, "at >= $"+strconv.Itoa(len(args)))
	}
	if f.Actor != "" {
		args = append(args, f.Actor)
		where = append(where, "actor = $"+strconv.Itoa(len(args)))
	}
	q := `SELECT at, actor, action, target, detail FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log from %s: %w", s.dsn, err)
		}
		e.At = fromNanos(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
