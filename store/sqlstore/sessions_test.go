package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmwatch/store"
)

// A session lives until it expires, is deleted, or its operator is revoked
// or given a new token; each ends it at the very next lookup.
func TestSessionsEndWithTheirOperator(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		tok, tok2 := []byte("token-alice"), []byte("token-alice-2")
		if err := s.AddOperator(ctx, store.Operator{Name: "alice", Role: "operator", CreatedAt: t0}, tok); err != nil {
			t.Fatal(err)
		}
		open := func(id string) {
			t.Helper()
			op, err := s.CreateSession(ctx, store.Session{IDHash: []byte(id), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, tok)
			if err != nil || op.Name != "alice" || op.Role != "operator" {
				t.Fatalf("create session %s: %+v, %v", id, op, err)
			}
		}
		valid := func(id string, at time.Time) bool {
			t.Helper()
			op, sess, err := s.SessionOperator(ctx, []byte(id), at)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if err == nil && (op.Name != "alice" || !sess.ExpiresAt.Equal(t0.Add(time.Hour))) {
				t.Fatalf("session %s: %+v %+v", id, op, sess)
			}
			return err == nil
		}
		if _, err := s.CreateSession(ctx, store.Session{IDHash: []byte("x"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, []byte("nobody")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session for an unknown token: %v", err)
		}
		open("s1")
		open("s2")
		if !valid("s1", t0.Add(59*time.Minute)) || valid("s1", t0.Add(time.Hour)) {
			t.Fatal("expiry: valid before, not at the expiry")
		}
		if err := s.DeleteSession(ctx, []byte("s2")); err != nil || valid("s2", t0) {
			t.Fatalf("deleted session still valid (%v)", err)
		}
		if err := s.RotateOperatorToken(ctx, "alice", tok2, t0); err != nil {
			t.Fatal(err)
		}
		if valid("s1", t0) {
			t.Fatal("a session outlived the rotation of its token")
		}
		tok = tok2
		open("s3")
		if !valid("s3", t0) {
			t.Fatal("new session invalid")
		}
		if err := s.RevokeOperator(ctx, "alice", t0); err != nil {
			t.Fatal(err)
		}
		if valid("s3", t0) {
			t.Fatal("a revoked operator's session is still valid")
		}
		if n, err := s.PruneSessions(ctx, t0.Add(2*time.Hour)); err != nil || n != 2 {
			t.Fatalf("prune: %d, %v; want the 2 sessions left", n, err)
		}
	})
}
