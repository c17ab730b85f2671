package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwatch/access"
	"crmwatch/store"
)

// TokenFile is where the demo keeps the admin token, inside the data dir.
const TokenFile = "demo-token"

// adminToken returns a working admin token: the one saved by an earlier run
// if its operator is still active, otherwise a new operator's. A reused data
// dir may hold "demo-admin" already without a usable token file (deleted,
// or the operator revoked), so a new, time-stamped name is taken then.
func adminToken(ctx context.Context, st store.Store, dataDir string, now time.Time) (access.Token, string, error) {
	path := filepath.Join(dataDir, TokenFile)
	if data, err := os.ReadFile(path); err == nil {
		if tok, err := access.ParseToken(strings.TrimSpace(string(data))); err == nil {
			if op, err := st.OperatorByTokenHash(ctx, tok.Hash()); err == nil {
				return tok, op.Name, nil
			}
		}
	}
	name := "demo-admin"
	tok, err := access.CreateOperator(ctx, st, access.NewOperator{Name: name, Role: access.RoleAdmin, By: "crmwatch-demo"})
	if errors.Is(err, store.ErrExists) {
		name = "demo-admin-" + now.UTC().Format("20060102T150405")
		tok, err = access.CreateOperator(ctx, st, access.NewOperator{Name: name, Role: access.RoleAdmin, By: "crmwatch-demo"})
	}
	if err != nil {
		return access.Token{}, "", fmt.Errorf("demo: create admin operator: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok.Reveal()+"\n"), 0o600); err != nil {
		return access.Token{}, "", fmt.Errorf("demo: save the admin token: %w", err)
	}
	// WriteFile keeps the mode of an existing file; make sure it is private.
	if err := os.Chmod(path, 0o600); err != nil {
		return access.Token{}, "", fmt.Errorf("demo: protect %s: %w", path, err)
	}
	return tok, name, nil
}
