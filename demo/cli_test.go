package demo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCLICommand(t *testing.T) {
	onPath := func(string) (string, error) { return "/usr/local/bin/crmwatch", nil }
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }
	exe := func(p string) func() (string, error) { return func() (string, error) { return p, nil } }
	goRunBinary := filepath.Join(os.TempDir(), "go-build123", "b001", "exe", "crmwatch")
	for _, c := range []struct {
		name     string
		look     func(string) (string, error)
		checkout bool
		exe      string
		want     string
	}{
		{"on PATH", onPath, true, goRunBinary, "crmwatch"},
		{"make demo in the checkout", notOnPath, true, goRunBinary, "go run ./cmd/crmwatch"},
		{"a copied binary elsewhere", notOnPath, false, "/opt/crmwatch/bin/crmwatch", "/opt/crmwatch/bin/crmwatch"},
		{"go run outside the checkout", notOnPath, false, goRunBinary, "go run ./cmd/crmwatch"},
	} {
		if got := cliCommand(c.look, c.checkout, exe(c.exe)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
