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

// CreateSession opens a console session for the active operator holding
// the token whose hash is given. The operator is chosen in the same
// statement that inserts the session, so a revocation racing a sign-in
// leaves either no session or one that the next lookup refuses.
func (s *Store) CreateSession(ctx context.Context, sess store.Session, tokenHash []byte) (store.Operator, error) {
	if len(sess.IDHash) == 0 || len(tokenHash) == 0 {
		return store.Operator{}, errors.New("create session: id and token hashes are required")
	}
	if !sess.ExpiresAt.After(sess.CreatedAt) {
		return store.Operator{}, fmt.Errorf("create session: expiry %s is not after creation %s", sess.ExpiresAt, sess.CreatedAt)
	}
	th := hex.EncodeToString(tokenHash)
	res, err := s.writer.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, operator_id, token_hash, created_at, expires_at)
		SELECT $1, id, token_hash, $3, $4 FROM operators WHERE token_hash = $2 AND revoked_at IS NULL`,
		hex.EncodeToString(sess.IDHash), th, nanos(sess.CreatedAt), nanos(sess.ExpiresAt))
	if err != nil {
		return store.Operator{}, fmt.Errorf("create session in %s: %w", s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return store.Operator{}, fmt.Errorf("session for token: %w", store.ErrNotFound)
	}
	op, _, err := s.SessionOperator(ctx, sess.IDHash, sess.CreatedAt)
	return op, err
}

// SessionOperator returns the operator of a session valid at now.
func (s *Store) SessionOperator(ctx context.Context, idHash []byte, now time.Time) (store.Operator, store.Session, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT o.name, o.role, o.created_at, o.revoked_at, o.token_rotated_at,
			cs.created_at, cs.expires_at
		FROM console_sessions cs JOIN operators o ON o.id = cs.operator_id AND o.token_hash = cs.token_hash
		WHERE cs.id_hash = $1 AND cs.expires_at > $2 AND o.revoked_at IS NULL`,
		hex.EncodeToString(idHash), nanos(now))
	var (
		op               store.Operator
		created, revoked sql.NullInt64
		rotated          sql.NullInt64
		opCreated        int64
		expires          int64
	)
	err := row.Scan(&op.Name, &op.Role, &opCreated, &revoked, &rotated, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Operator{}, store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	case err != nil:
		return store.Operator{}, store.Session{}, fmt.Errorf("look up session in %s: %w", s.dsn, err)
	}
	op.CreatedAt, op.RevokedAt, op.RotatedAt = fromNanos(opCreated), fromNullNanos(revoked), fromNullNanos(rotated)
	return op, store.Session{IDHash: idHash, CreatedAt: fromNanos(created.Int64), ExpiresAt: fromNanos(expires)}, nil
}

// DeleteSession ends a session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, hex.EncodeToString(idHash)); err != nil {
		return fmt.Errorf("delete session in %s: %w", s.dsn, err)
	}
	return nil
}

// PruneSessions drops sessions that expired before before.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at < $1`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("prune sessions in %s: %w", s.dsn, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
