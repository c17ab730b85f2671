package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"crmwatch/store"
)

// AddOperator stores a new operator with the hash of their token;
// store.ErrExists if an active operator has the name. A revoked operator's
// name can be used again: the revoked row stays, as history.
func (s *Store) AddOperator(ctx context.Context, op store.Operator, tokenHash []byte) error {
	if op.Name == "" {
		return errors.New("add operator: name is empty")
	}
	if len(tokenHash) == 0 {
		return fmt.Errorf("add operator %q: token hash is empty", op.Name)
	}
	created := op.CreatedAt
	if created.IsZero() {
		created = s.opts.Now()
	}
	res, err := s.writer.ExecContext(ctx, `INSERT INTO operators (name, role, token_hash, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING`,
		op.Name, op.Role, hex.EncodeToString(tokenHash), nanos(created))
	if err != nil {
		return fmt.Errorf("add operator %q (role %q) to %s: %w", op.Name, op.Role, s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("add operator %q: %w and is active (give them a new token with crmwatch operators rotate %s, or revoke them first)",
			op.Name, store.ErrExists, op.Name)
	}
	return nil
}

// OperatorByTokenHash returns the active operator holding the token whose
// hash is given. Looking up by a SHA-256 of a 256-bit random token leaks
// nothing useful through timing: an attacker cannot steer the hash.
func (s *Store) OperatorByTokenHash(ctx context.Context, tokenHash []byte) (store.Operator, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT name, role, created_at, revoked_at, token_rotated_at FROM operators
		WHERE token_hash = $1 AND revoked_at IS NULL`, hex.EncodeToString(tokenHash))
	op, err := scanOperator(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return op, fmt.Errorf("operator for token: %w", store.ErrNotFound)
	case err != nil:
		return op, fmt.Errorf("look up operator in %s: %w", s.dsn, err)
	}
	return op, nil
}

// Operators lists every operator by name, revoked ones included; a name
// used again appears once per operator who held it, oldest first.
func (s *Store) Operators(ctx context.Context) ([]store.Operator, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT name, role, created_at, revoked_at, token_rotated_at FROM operators ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list operators in %s: %w", s.dsn, err)
	}
	defer rows.Close()
	out := []store.Operator{}
	for rows.Next() {
		op, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("list operators in %s: %w", s.dsn, err)
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

func scanOperator(r scanner) (store.Operator, error) {
	var op store.Operator
	var created int64
	var revoked, rotated sql.NullInt64
	if err := r.Scan(&op.Name, &op.Role, &created, &revoked, &rotated); err != nil {
		return op, err
	}
	op.CreatedAt, op.RevokedAt, op.RotatedAt = fromNanos(created), fromNullNanos(revoked), fromNullNanos(rotated)
	return op, nil
}

// RevokeOperator disables the active operator of that name from at;
// revoking twice keeps the first time. store.ErrNotFound if no operator
// ever had the name.
func (s *Store) RevokeOperator(ctx context.Context, name string, at time.Time) error {
	if at.IsZero() {
		at = s.opts.Now()
	}
	res, err := s.writer.ExecContext(ctx, `UPDATE operators SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL`,
		name, at.UnixNano())
	if err != nil {
		return fmt.Errorf("revoke operator %q in %s: %w", name, s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		var known int
		if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators WHERE name = $1`, name).Scan(&known); err != nil {
			return fmt.Errorf("revoke operator %q in %s: %w", name, s.dsn, err)
		}
		if known == 0 {
			return fmt.Errorf("revoke operator %q: %w (see crmwatch operators list)", name, store.ErrNotFound)
		}
	}
	return nil
}

// RotateOperatorToken gives the active operator of that name a new token
// (its hash); the old one is refused from the next request on.
// store.ErrNotFound if no active operator has the name.
func (s *Store) RotateOperatorToken(ctx context.Context, name string, tokenHash []byte, at time.Time) error {
	if len(tokenHash) == 0 {
		return fmt.Errorf("rotate token of operator %q: token hash is empty", name)
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	res, err := s.writer.ExecContext(ctx, `UPDATE operators SET token_hash = $2, token_rotated_at = $3
		WHERE name = $1 AND revoked_at IS NULL`, name, hex.EncodeToString(tokenHash), at.UnixNano())
	if err != nil {
		return fmt.Errorf("rotate token of operator %q in %s: %w", name, s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("rotate token of operator %q: %w: no active operator has this name (see crmwatch operators list; a revoked one is added again with crmwatch operators add)",
			name, store.ErrNotFound)
	}
	return nil
}
