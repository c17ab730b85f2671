package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// goSteps are data migrations too awkward to write portably in SQL (JSON
// differs between the engines); each runs after the SQL of its version, in
// the same transaction.
var goSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	3: indexOrganizations,
}

// indexOrganizations fills alert_orgs from the JSON organizations column.
func indexOrganizations(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, organizations FROM alerts`)
	if err != nil {
		return fmt.Errorf("read organizations: %w", err)
	}
	type row struct{ id, orgs string }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.orgs); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		var orgs []string
		if err := json.Unmarshal([]byte(r.orgs), &orgs); err != nil {
			return fmt.Errorf("alert %q: decode organizations: %w", r.id, err)
		}
		if err := indexValues(ctx, tx, "alert_orgs", "organization", r.id, orgs, false); err != nil {
			return err
		}
	}
	return nil
}

// migration is one numbered schema step.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// loadMigrations reads NNNN_name.sql files in version order; a gap or a
// duplicate is a programming error reported at start, not a silent skip.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, rest, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(rest, ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		out = append(out, migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %d (%s): versions must run 1, 2, 3… without gaps or duplicates", m.Version, m.Name)
		}
	}
	return out, nil
}

// splitStatements cuts a migration at semicolons that end a line, dropping
// comment-only lines, so each statement runs on its own on both engines.
func splitStatements(script string) []string {
	var stmts []string
	var cur strings.Builder
	for line := range strings.Lines(script) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}

// migrate applies every migration not yet recorded in schema_migrations, each
// in its own transaction. Concurrent starters serialise on the engine's lock
// (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL) and re-check
// inside the transaction, so a second start is a no-op.
func migrate(ctx context.Context, db *sql.DB, d dialect, now func() time.Time, upto int) (applied int, err error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, err
	}
	if err := createVersionTable(ctx, db, d); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if upto > 0 && m.Version > upto {
			break
		}
		done, err := applyMigration(ctx, db, d, m, now())
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// createVersionTable runs under the migration lock: PostgreSQL's CREATE TABLE
// IF NOT EXISTS is not safe against a concurrent identical statement.
func createVersionTable(ctx context.Context, db *sql.DB, d dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.migrationLock); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

func applyMigration(ctx context.Context, db *sql.DB, d dialect, m migration, at time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.migrationLock); err != nil {
			return false, fmt.Errorf("take migration lock: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	for i, stmt := range splitStatements(d.rewrite(m.SQL)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	if step := goSteps[m.Version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, at.UnixNano()); err != nil {
		return false, fmt.Errorf("record version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}
