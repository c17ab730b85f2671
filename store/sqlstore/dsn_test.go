package sqlstore

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		in, engine, path, errPart string
	}{
		{in: "crmwatch-data/crmwatch.db", engine: EngineSQLite, path: "crmwatch-data/crmwatch.db"},
		{in: "sqlite://rel/x.db", engine: EngineSQLite, path: "rel/x.db"},
		{in: "sqlite:///abs/x.db", engine: EngineSQLite, path: "/abs/x.db"},
		{in: "sqlite:x.db", engine: EngineSQLite, path: "x.db"},
		{in: "file:x.db", engine: EngineSQLite, path: "x.db"},
		{in: "  /var/lib/crmwatch/crmwatch.db ", engine: EngineSQLite, path: "/var/lib/crmwatch/crmwatch.db"},
		{in: "postgres://u:secret@db:5432/crm?sslmode=disable", engine: EnginePostgres},
		{in: "postgresql://db/crm", engine: EnginePostgres},
		{in: "", errPart: "empty store DSN"},
		{in: ":memory:", errPart: "in-memory"},
		{in: "file:x.db?mode=memory", errPart: "in-memory"},
		{in: "x.db?_pragma=foo", errPart: "must not contain"},
		{in: "sqlite://", errPart: "path is empty"},
		{in: "mysql://db/crm", errPart: `unsupported scheme "mysql"`},
		{in: "postgres:///crm", errPart: "no host"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDSN(tc.in)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Engine != tc.engine || d.Path != tc.path {
				t.Fatalf("got %+v, want engine %s path %q", d, tc.engine, tc.path)
			}
		})
	}
}

func TestDSNStringHidesPassword(t *testing.T) {
	for _, in := range []string{"postgres://u:s3cretpw@db:5432/crm?password=s3cretpw", "postgres://u:s3cretpw@[::1/crm"} {
		d, err := ParseDSN(in)
		if err != nil {
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Fatalf("error reveals the password: %v", err)
			}
			continue
		}
		if s := d.String(); strings.Contains(s, "s3cretpw") {
			t.Fatalf("String() = %q reveals the password", s)
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"a.db", "sqlite:///x", "file:x?y", "postgres://u:p@h/db", "postgresql://", ":memory:", "x://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDSN(s)
		if err != nil {
			return
		}
		switch d.Engine {
		case EngineSQLite:
			if d.Path == "" || strings.ContainsAny(d.Path, "?#\x00") {
				t.Fatalf("accepted unusable SQLite path %q from %q", d.Path, s)
			}
		case EnginePostgres:
			if d.URL == "" {
				t.Fatalf("postgres DSN without URL from %q", s)
			}
		default:
			t.Fatalf("unknown engine %q from %q", d.Engine, s)
		}
		_ = d.String()
	})
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- c\nCREATE TABLE a (\n x INT\n);\n\nCREATE INDEX i ON a (x);\nSELECT 1")
	want := []string{"CREATE TABLE a (\n x INT\n)", "CREATE INDEX i ON a (x)", "SELECT 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}
