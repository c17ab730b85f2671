package access

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"crmwatch/store"
)

// Audit actions for operator changes.
const (
	ActionOperatorAdd    = "operator.add"
	ActionOperatorRevoke = "operator.revoke"
	ActionOperatorRotate = "operator.rotate"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidateName checks an operator name: 1–64 letters, digits, '.', '_', '@'
// or '-', starting with a letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("operator name %q: want 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

// OperatorStore is what managing operators needs of the store: the
// operators and the audit log.
type OperatorStore interface {
	store.Operators
	store.Auditor
}

// NewOperator describes an operator to create.
type NewOperator struct {
	Name string
	Role Role
	// By is who creates it, for the audit log (an admin's name, or
	// "local:<user>" for the CLI working on the store directly).
	By string
	// At defaults to now.
	At time.Time
}

// CreateOperator adds an operator with a fresh token and records it in the
// audit log. The returned token is the only copy: show it to the operator
// once. If the audit entry cannot be written the operator is revoked again,
// so no unaudited operator stays active.
func CreateOperator(ctx context.Context, s OperatorStore, n NewOperator) (Token, error) {
	if err := ValidateName(n.Name); err != nil {
		return Token{}, err
	}
	role, err := ParseRole(string(n.Role))
	if err != nil {
		return Token{}, fmt.Errorf("operator %q: %w", n.Name, err)
	}
	if n.At.IsZero() {
		n.At = time.Now().UTC()
	}
	tok, err := GenerateToken()
	if err != nil {
		return Token{}, err
	}
	if err := s.AddOperator(ctx, store.Operator{Name: n.Name, Role: string(role), CreatedAt: n.At}, tok.Hash()); err != nil {
		return Token{}, err
	}
	entry := store.AuditEntry{At: n.At, Actor: n.By, Action: ActionOperatorAdd, Target: n.Name,
		Detail: fmt.Sprintf("role=%s token=%s", role, tok.Fingerprint())}
	if err := s.Audit(ctx, entry); err != nil {
		return Token{}, errors.Join(fmt.Errorf("operator %q not created: %w", n.Name, err),
			s.RevokeOperator(ctx, n.Name, n.At))
	}
	return tok, nil
}

// RevokeOperator disables an operator's token and records who did it.
func RevokeOperator(ctx context.Context, s OperatorStore, name, by string) error {
	at := time.Now().UTC()
	if err := s.RevokeOperator(ctx, name, at); err != nil {
		return err
	}
	if err := s.Audit(ctx, store.AuditEntry{At: at, Actor: by, Action: ActionOperatorRevoke, Target: name}); err != nil {
		return fmt.Errorf("operator %q revoked but the audit entry failed: %w", name, err)
	}
	return nil
}

// RotateOperator gives an active operator a new token and records who did
// it; the old token is refused from the next request on. The returned
// token is the only copy. If the audit entry cannot be written the
// operator is revoked, so no unaudited token stays active.
func RotateOperator(ctx context.Context, s OperatorStore, name, by string) (Token, error) {
	tok, err := GenerateToken()
	if err != nil {
		return Token{}, err
	}
	at := time.Now().UTC()
	if err := s.RotateOperatorToken(ctx, name, tok.Hash(), at); err != nil {
		return Token{}, err
	}
	entry := store.AuditEntry{At: at, Actor: by, Action: ActionOperatorRotate, Target: name, Detail: "token=" + tok.Fingerprint()}
	if err := s.Audit(ctx, entry); err != nil {
		return Token{}, errors.Join(fmt.Errorf("operator %q: token not rotated: %w", name, err), s.RevokeOperator(ctx, name, at))
	}
	return tok, nil
}
