package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
)

// sqlTx is what the write path needs of a transaction: *sql.Tx, or a
// *cachedTx that runs the statements the store prepared before.
type sqlTx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxCachedStmts bounds the cache; the commit path uses about fifteen.
const maxCachedStmts = 128

// stmtCache keeps the SQLite writer's prepared statements by query text.
// modernc's SQLite parses every statement again on each Exec, which was
// about a sixth of the server's ingest CPU. A statement is prepared after
// the transaction that first missed it ended: the writer has one
// connection, which that transaction held. (pgx caches statements itself,
// so PostgreSQL stores have no cache.)
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// prepare adds the queries a transaction missed. It must not run inside a
// transaction of the writer.
func (c *stmtCache) prepare(ctx context.Context, qs []string) {
	for _, q := range qs {
		c.mu.Lock()
		skip := c.closed || c.m[q] != nil || len(c.m) >= maxCachedStmts
		c.mu.Unlock()
		if skip {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // the statement still runs unprepared
		}
		c.mu.Lock()
		if c.closed || c.m[q] != nil {
			st.Close() //nolint:errcheck // a duplicate or late statement
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		st.Close() //nolint:errcheck // closing the database follows
		delete(c.m, q)
	}
}

// cachedTx runs a write transaction's statements through the cache and
// notes the ones it did not find.
type cachedTx struct {
	*sql.Tx
	c      *stmtCache
	missed []string
}

func (t *cachedTx) stmt(ctx context.Context, q string) *sql.Stmt {
	if t.c == nil {
		return nil
	}
	if ps := t.c.get(q); ps != nil {
		return t.Tx.StmtContext(ctx, ps)
	}
	if !slices.Contains(t.missed, q) {
		t.missed = append(t.missed, q)
	}
	return nil
}

func (t *cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// inCachedTx is inTx for the hot write paths (Commit, Act): statements go
// through the store's cache.
func (s *Store) inCachedTx(ctx context.Context, fn func(*cachedTx) error) error {
	var missed []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t := &cachedTx{Tx: tx, c: s.stmts}
		err := fn(t)
		missed = t.missed
		return err
	})
	if len(missed) > 0 && s.stmts != nil {
		s.stmts.prepare(context.WithoutCancel(ctx), missed)
	}
	return err
}
