package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"crmwatch/alerts"
)

// After the first commit the SQLite store runs the commit path's
// statements prepared: a second transaction misses none, and the results
// are what the unprepared statements gave.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "c.db"), Options{})
	a := testAlert("c1")
	if _, err := send(ctx, s, one(change(alerts.ChangeRaised, a, t0, "rule", ev(1)))); err != nil {
		t.Fatal(err)
	}
	a.RepeatCount = 2
	if _, err := send(ctx, s, one(change(alerts.ChangeRepeated, a, t0, "rule", ev(2)))); err != nil {
		t.Fatal(err)
	}
	a.RepeatCount = 3
	if n := len(s.stmts.m); n < 5 {
		t.Fatalf("%d statements cached after a commit, want the commit path's", n)
	}
	var missed []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ct := &cachedTx{Tx: tx, c: s.stmts}
		c := one(change(alerts.ChangeRepeated, a, t0, "rule", ev(3)))
		_, err := s.mergeOne(ctx, ct, map[string]*alerts.Alert{}, &c)
		missed = ct.missed
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missed) != 0 {
		t.Errorf("the third change missed %d cached statements: %q", len(missed), missed)
	}
	d, err := s.Alert(ctx, "c1")
	if err != nil || d.Alert.RepeatCount != 3 || len(d.Events) != 3 {
		t.Fatalf("alert after three changes: %+v, %v", d.Alert, err)
	}

	// A full cache leaves statements unprepared, which still run.
	for i := range maxCachedStmts {
		s.stmts.m[fmt.Sprintf("filler %d", i)] = nil
	}
	before := len(s.stmts.m)
	if _, err := s.Act(ctx, "c1", alerts.Action{Kind: alerts.ChangeCommented, By: "alice", Note: "cache full"}); err != nil {
		t.Fatalf("a comment with a full cache: %v", err)
	}
	if len(s.stmts.m) != before {
		t.Errorf("a full cache grew from %d to %d statements", before, len(s.stmts.m))
	}
	for q, st := range s.stmts.m {
		if st == nil {
			delete(s.stmts.m, q)
		}
	}
	// Closing the store closes the cached statements.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.stmts.closed || len(s.stmts.m) != 0 {
		t.Errorf("cache after Close: closed=%v, %d statements", s.stmts.closed, len(s.stmts.m))
	}
}

// one marks a change as carrying one new event, as the engine does.
func one(c alerts.Change) alerts.Change {
	c.EventCount = 1
	return c
}
