package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"crmwatch/store"
)

// One active credential per subject token; a revoked one stays listed and
// its token can be enrolled again.
func TestAgentCredentials(t *testing.T) {
	forEachEngine(t, func(t *testing.T, _ engine, s *Store) {
		ctx := context.Background()
		c := store.AgentCredential{Name: "CRMAPP01", Token: "CRMAPP01", PublicKey: "UKEY1", Roles: []string{"AppServer", "AsyncService"}, EnrolledAt: t0, EnrolledBy: "alice"}
		if err := s.EnrollAgent(ctx, c); err != nil {
			t.Fatal(err)
		}
		dup := c
		dup.PublicKey = "UKEY2"
		if err := s.EnrollAgent(ctx, dup); !errors.Is(err, store.ErrExists) || !containsAll(err.Error(), "crmwatch agents revoke CRMAPP01") {
			t.Fatalf("second active credential: %v", err)
		}
		if err := s.RevokeAgent(ctx, "CRMAPP01", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAgent(ctx, "CRMAPP01", t0.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		if err := s.EnrollAgent(ctx, dup); err != nil {
			t.Fatalf("enrolling again after revoke: %v", err)
		}
		list, err := s.AgentCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].RevokedAt == nil || !list[0].RevokedAt.Equal(t0.Add(time.Hour)) || list[1].RevokedAt != nil ||
			list[0].EnrolledBy != "alice" || len(list[0].Roles) != 2 || list[1].PublicKey != "UKEY2" {
			t.Fatalf("list: %+v", list)
		}
	})
}
