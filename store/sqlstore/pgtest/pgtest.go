// Package pgtest gives tests an isolated PostgreSQL store: a fresh schema in
// the machine's test database (postgres://postgres@127.0.0.1:5432/test, or
// CRMWATCH_TEST_POSTGRES), dropped when the test ends. Tests of several
// packages run at once against the one database, so nothing is shared.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
)

// DefaultURL is the test database the project's machines and CI provide.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the base test database URL.
func URL() string {
	if v := os.Getenv("CRMWATCH_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultURL
}

// Unavailable reports why PostgreSQL cannot be used here ("" when it can).
func Unavailable() string {
	db, err := sql.Open("pgx", URL())
	if err == nil {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		return fmt.Sprintf("PostgreSQL at %s unreachable (start it or set CRMWATCH_TEST_POSTGRES): %v", URL(), err)
	}
	return ""
}

// DSN creates a schema for this test and returns a DSN whose search path
// is that schema. Without PostgreSQL the test is skipped, except under
// CI=true where that is a failure.
func DSN(tb testing.TB) string {
	tb.Helper()
	if why := Unavailable(); why != "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s; CI=true requires it", why)
		}
		tb.Skip(why)
	}
	db, err := sql.Open("pgx", URL())
	if err != nil {
		tb.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "crmwatch_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(URL())
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
