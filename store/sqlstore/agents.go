package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"crmwatch/store"
)

// EnrollAgent stores an enrolled agent's public key; store.ErrExists when
// an active credential has the same subject token.
func (s *Store) EnrollAgent(ctx context.Context, c store.AgentCredential) error {
	if c.Name == "" || c.Token == "" || c.PublicKey == "" {
		return errors.New("enroll agent: name, token and public key are required")
	}
	at := c.EnrolledAt
	if at.IsZero() {
		at = s.opts.Now()
	}
	res, err := s.writer.ExecContext(ctx, `INSERT INTO agent_credentials (name, token, public_key, roles, enrolled_at, enrolled_by)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token) WHERE revoked_at IS NULL DO NOTHING`,
		c.Name, c.Token, c.PublicKey, strings.Join(c.Roles, ","), nanos(at), c.EnrolledBy)
	if err != nil {
		return fmt.Errorf("enroll agent %q in %s: %w", c.Name, s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("enroll agent %q: %w: an enrolled agent already holds this host's subjects (revoke it first with crmwatch agents revoke %s)",
			c.Name, store.ErrExists, c.Name)
	}
	return nil
}

// AgentCredentials lists every credential, revoked ones included.
func (s *Store) AgentCredentials(ctx context.Context) ([]store.AgentCredential, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT name, token, public_key, roles, enrolled_at, enrolled_by, revoked_at
		FROM agent_credentials ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list enrolled agents in %s: %w", s.dsn, err)
	}
	defer rows.Close()
	out := []store.AgentCredential{}
	for rows.Next() {
		var c store.AgentCredential
		var roles string
		var at int64
		var revoked sql.NullInt64
		if err := rows.Scan(&c.Name, &c.Token, &c.PublicKey, &roles, &at, &c.EnrolledBy, &revoked); err != nil {
			return nil, fmt.Errorf("list enrolled agents in %s: %w", s.dsn, err)
		}
		if roles != "" {
			c.Roles = strings.Split(roles, ",")
		}
		c.EnrolledAt, c.RevokedAt = fromNanos(at), fromNullNanos(revoked)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeAgent ends the active credential holding token.
func (s *Store) RevokeAgent(ctx context.Context, token string, at time.Time) error {
	if at.IsZero() {
		at = s.opts.Now()
	}
	res, err := s.writer.ExecContext(ctx, `UPDATE agent_credentials SET revoked_at = $2 WHERE token = $1 AND revoked_at IS NULL`,
		token, at.UnixNano())
	if err != nil {
		return fmt.Errorf("revoke agent %q in %s: %w", token, s.dsn, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("revoke agent %q: %w: no enrolled agent has this name (see crmwatch agents enrolled)", token, store.ErrNotFound)
	}
	return nil
}
