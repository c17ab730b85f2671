package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// defaultPostgres is the test database the project's machines and CI provide
// (trust auth); CRMWATCH_TEST_POSTGRES overrides it.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// engine makes fresh, isolated DSNs for one database engine.
type engine struct {
	name string
	// dsn returns a DSN of an empty database no other test or run uses.
	dsn func(t *testing.T) string
	// skip, when set, says why this engine cannot run here.
	skip string
}

// run runs fn as the engine's subtest, or skips it with the reason.
func (e engine) run(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	t.Run(e.name, func(t *testing.T) {
		if e.skip != "" {
			t.Skip(e.skip)
		}
		fn(t)
	})
}

// engines returns SQLite always and PostgreSQL when reachable. Without
// PostgreSQL the suite skips it with a message, except under CI=true where a
// missing database is a failure.
func engines(t *testing.T) []engine {
	t.Helper()
	out := []engine{{name: EngineSQLite, dsn: sqliteDSNFor}}
	return append(out, postgresEngine(t))
}

func sqliteDSNFor(t *testing.T) string {
	return filepath.Join(t.TempDir(), "data", "crmwatch.db")
}

func postgresURL() string {
	if v := os.Getenv("CRMWATCH_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultPostgres
}

func postgresEngine(t *testing.T) engine {
	t.Helper()
	base := postgresURL()
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s is required under CI: %v", base, err)
		}
		return engine{name: EnginePostgres, skip: fmt.Sprintf(
			"PostgreSQL at %s unreachable (start it or set CRMWATCH_TEST_POSTGRES; CI=true makes this a failure): %v", base, err)}
	}
	t.Cleanup(func() { db.Close() })
	return engine{name: EnginePostgres, dsn: func(t *testing.T) string {
		t.Helper()
		s := "crmwatch_test_" + randomHex(t, 8)
		if _, err := db.Exec(`CREATE SCHEMA ` + s); err != nil {
			t.Fatalf("create schema %s: %v", s, err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec(`DROP SCHEMA ` + s + ` CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", s, err)
			}
		})
		return withSearchPath(t, base, s)
	}}
}

func withSearchPath(t *testing.T, base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// forEachEngine runs fn as a subtest per engine with a freshly opened store.
func forEachEngine(t *testing.T, fn func(t *testing.T, e engine, s *Store)) {
	t.Helper()
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			s := openStore(t, e.dsn(t), Options{})
			fn(t, e, s)
		})
	}
}

func openStore(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
