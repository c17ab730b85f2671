package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CheckoutCLI is how crmwatch runs from the root of its source checkout
// without a built binary (make demo runs the demo this way).
const CheckoutCLI = "go run ./cmd/crmwatch"

// CLICommand is the command an operator in the current directory types to
// run crmwatch, for the banner's "Then try:" lines: "crmwatch" when it is
// on PATH, CheckoutCLI in the source checkout, else this binary's path.
func CLICommand() string {
	_, err := os.Stat(filepath.Join("cmd", "crmwatch", "main.go"))
	return cliCommand(exec.LookPath, err == nil, os.Executable)
}

func cliCommand(lookPath func(string) (string, error), inCheckout bool, executable func() (string, error)) string {
	if _, err := lookPath("crmwatch"); err == nil {
		return "crmwatch"
	}
	if inCheckout {
		return CheckoutCLI
	}
	// A binary go run built lives in a temporary directory that is gone
	// once the demo stops; only a real binary's path is worth printing.
	if exe, err := executable(); err == nil && !strings.HasPrefix(exe, os.TempDir()) {
		return exe
	}
	return CheckoutCLI
}
