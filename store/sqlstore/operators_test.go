package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/store"
)

// A revoked operator's name can be used again; the revoked operator stays
// in the list. Rotation replaces the token of the active one only.
func TestOperatorNamesReusableAndRotation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		h1, h2, h3 := []byte("hash-one"), []byte("hash-two"), []byte("hash-three")
		if err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "admin", CreatedAt: t0}, h1); err != nil {
			t.Fatal(err)
		}
		err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "readonly"}, h2)
		if !errors.Is(err, store.ErrExists) || !containsAll(err.Error(), "crmwatch operators rotate alice", "revoke them first") {
			t.Fatalf("active duplicate: %v", err)
		}
		if err := s.RevokeOperator(ctx, "alice", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateOperatorToken(ctx, "alice", h3, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rotating a revoked operator: %v, want ErrNotFound", err)
		}
		if err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "readonly", CreatedAt: t0.Add(2 * time.Hour)}, h2); err != nil {
			t.Fatalf("re-adding a revoked name: %v", err)
		}
		if _, err := s.OperatorByTokenHash(ctx, h1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the first alice's token works again: %v", err)
		}
		if op, err := s.OperatorByTokenHash(ctx, h2); err != nil || op.Role != "readonly" {
			t.Fatalf("second alice: %+v %v", op, err)
		}
		if err := s.RotateOperatorToken(ctx, "alice", h3, t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OperatorByTokenHash(ctx, h2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old token still works after rotation: %v", err)
		}
		op, err := s.OperatorByTokenHash(ctx, h3)
		if err != nil || op.RotatedAt == nil || !op.RotatedAt.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("new token: %+v %v", op, err)
		}
		ops, err := s.Operators(ctx)
		if err != nil || len(ops) != 2 || ops[0].RevokedAt == nil || ops[0].Role != "admin" || ops[1].RevokedAt != nil {
			t.Fatalf("operators = %+v, %v", ops, err)
		}
		if err := s.RevokeOperator(ctx, "alice", t0.Add(4*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeOperator(ctx, "alice", t0.Add(5*time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
	})
}

// The operators of a store created before migration 2 survive it.
func TestOperatorsMigrationKeepsExisting(t *testing.T) {
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			dsn := e.dsn(t)
			d, _ := ParseDSN(dsn)
			s := &Store{dsn: d, opts: Options{}.withDefaults(d.Engine), log: slog.New(slog.DiscardHandler)}
			ctx := context.Background()
			if err := s.connect(ctx); err != nil {
				t.Fatal(err)
			}
			ms, err := loadMigrations(migrationFS)
			if err != nil {
				t.Fatal(err)
			}
			if err := createVersionTable(ctx, s.writer, dialects[d.Engine]); err != nil {
				t.Fatal(err)
			}
			if _, err := applyMigration(ctx, s.writer, dialects[d.Engine], ms[0], t0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.writer.Exec(`INSERT INTO operators (name, role, token_hash, created_at, revoked_at)
				VALUES ('bob', 'admin', 'aa', 1, NULL), ('carol', 'readonly', 'bb', 2, 3)`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = openStore(t, dsn, Options{})
			ops, err := s.Operators(ctx)
			if err != nil || len(ops) != 2 || ops[0].Name != "bob" || ops[1].RevokedAt == nil {
				t.Fatalf("after migration: %+v %v", ops, err)
			}
			if op, err := s.OperatorByTokenHash(ctx, []byte{0xaa}); err != nil || op.Name != "bob" {
				t.Fatalf("bob's token after migration: %+v %v", op, err)
			}
			if err := s.AddOperator(ctx, store.Operator{Name: "carol", Role: "operator"}, []byte("new")); err != nil {
				t.Fatalf("re-adding revoked carol: %v", err)
			}
		})
	}
}

// With MustExist a store that was never created is an error, and nothing
// is created (no SQLite file or directory, no tables).
func TestOpenMustExist(t *testing.T) {
	for _, e := range engines(t) {
		e.run(t, func(t *testing.T) {
			dsn := e.dsn(t)
			_, err := Open(context.Background(), dsn, Options{MustExist: true, Logger: slog.New(slog.DiscardHandler)})
			if !errors.Is(err, ErrNoStore) {
				t.Fatalf("err = %v, want ErrNoStore", err)
			}
			if e.name == EngineSQLite {
				if _, err := os.Stat(filepath.Dir(dsn)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("MustExist created %s: %v", filepath.Dir(dsn), err)
				}
			}
			openStore(t, dsn, Options{}).Close()
			s := openStore(t, dsn, Options{MustExist: true})
			if _, err := s.Operators(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAuditEntriesFilter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		for i, actor := range []string{"alice", "bob", "alice", "bob"} {
			if err := s.Audit(ctx, store.AuditEntry{At: t0.Add(time.Duration(i) * time.Hour), Actor: actor, Action: "a", Target: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.AuditLog(ctx, store.AuditFilter{Since: t0.Add(time.Hour), Actor: "alice"})
		if err != nil || len(got) != 1 || !got[0].At.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("since+actor: %+v %v", got, err)
		}
		got, err = s.AuditLog(ctx, store.AuditFilter{Actor: "bob", Limit: 1})
		if err != nil || len(got) != 1 || !got[0].At.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("actor+limit: %+v %v", got, err)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
