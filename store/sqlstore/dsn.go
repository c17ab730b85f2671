package sqlstore

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Engines a DSN can select.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Where the server keeps its data unless told otherwise. The server, the demo
// and `crmwatch operators` share these so they open the same file.
const (
	DefaultDataDir = "crmwatch-data"
	FileName       = "crmwatch.db"
)

// DataDirDSN is the SQLite DSN of the store inside a data directory.
func DataDirDSN(dir string) string { return filepath.Join(dir, FileName) }

// DSN is a parsed store location.
type DSN struct {
	Engine string
	// Path is the SQLite database file (Engine sqlite).
	Path string
	// URL is the PostgreSQL connection string handed to pgx (Engine postgres).
	URL string
}

// ParseDSN accepts a SQLite file path, `sqlite://PATH` (`sqlite:///abs/path`
// for an absolute path), `file:PATH`, or a `postgres://` / `postgresql://`
// URL. In-memory SQLite is refused: the store keeps a separate writer and
// reader pool, which would see two different empty databases.
func ParseDSN(s string) (DSN, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DSN{}, errors.New("empty store DSN: give a SQLite file path or a postgres:// URL")
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			// url.Error repeats the input, which may hold a password.
			return DSN{}, errors.New("store DSN: malformed postgres URL (want postgres://user@host:5432/db?sslmode=disable)")
		}
		if u.Host == "" {
			return DSN{}, errors.New("store DSN: postgres URL has no host (want postgres://user@host:5432/db)")
		}
		return DSN{Engine: EnginePostgres, URL: s}, nil
	case strings.HasPrefix(lower, "sqlite://"):
		return sqliteDSN(s[len("sqlite://"):])
	case strings.HasPrefix(lower, "sqlite:"):
		return sqliteDSN(s[len("sqlite:"):])
	case strings.HasPrefix(lower, "file:"):
		return sqliteDSN(s[len("file:"):])
	case strings.Contains(s, "://"):
		scheme, _, _ := strings.Cut(s, "://")
		return DSN{}, fmt.Errorf("store DSN: unsupported scheme %q (use a SQLite file path, sqlite://PATH or postgres://…)", scheme)
	}
	return sqliteDSN(s)
}

func sqliteDSN(path string) (DSN, error) {
	switch {
	case path == "":
		return DSN{}, errors.New("store DSN: SQLite path is empty (e.g. sqlite://crmwatch-data/crmwatch.db)")
	case path == ":memory:" || strings.Contains(path, "mode=memory"):
		return DSN{}, errors.New("store DSN: in-memory SQLite is not supported; use a file (a temporary directory is fine)")
	case strings.ContainsAny(path, "?#\x00"):
		return DSN{}, fmt.Errorf("store DSN: SQLite path %q must not contain '?', '#' or NUL", path)
	}
	return DSN{Engine: EngineSQLite, Path: path}, nil
}

// String names the store without credentials, for logs and errors.
func (d DSN) String() string {
	if d.Engine == EngineSQLite {
		return "sqlite:" + d.Path
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return "postgres://(unparsable)"
	}
	return "postgres://" + u.Host + u.Path
}
