package demo

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.DataDirDSN(dir), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminToken(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	tok1, name1, err := adminToken(ctx, st, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TokenFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode())
	}
	tok2, name2, err := adminToken(ctx, st, dir, now)
	if err != nil || tok2.Reveal() != tok1.Reveal() || name2 != name1 {
		t.Fatalf("reused data dir: got %s/%v, want the saved token of %s", name2, err, name1)
	}
	// Token file lost, operator still there: a second admin is created.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tok3, name3, err := adminToken(ctx, st, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if name3 != "demo-admin-20261121T120000" || tok3.Reveal() == tok1.Reveal() {
		t.Errorf("after losing the token file: operator %s", name3)
	}
	if op, err := st.OperatorByTokenHash(ctx, tok3.Hash()); err != nil || op.Role != string(access.RoleAdmin) {
		t.Errorf("new token: %+v, %v", op, err)
	}
	// Revoked operator: the saved token no longer works, a new one is made.
	if err := access.RevokeOperator(ctx, st, name3, "test"); err != nil {
		t.Fatal(err)
	}
	if _, name4, err := adminToken(ctx, st, dir, now.Add(time.Second)); err != nil || name4 == name3 {
		t.Errorf("after revocation: %s, %v", name4, err)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunTwice runs the demo on a fresh and then on the reused data dir.
func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	for i := range 2 {
		var out bytes.Buffer
		err := Run(context.Background(), Options{DataDir: dir, Listen: freeAddr(t), NATSListen: freeAddr(t),
			Duration: 2 * time.Second, FaultAfter: 500 * time.Millisecond, Out: &out})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		for _, want := range []string{"API:             http://127.0.0.1:", "token:           crmw_", "CRMAPP01", "crmwatch alerts list"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d output lacks %q:\n%s", i+1, want, out.String())
			}
		}
	}
	st := openStore(t, dir)
	ops, err := st.Operators(context.Background())
	if err != nil || len(ops) != 1 {
		t.Errorf("operators after two runs: %+v, %v (the saved token should be reused)", ops, err)
	}
}
