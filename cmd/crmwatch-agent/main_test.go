package main

import (
	"bytes"
	"strings"
	"testing"
)

func run(args ...string) (string, error) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// The agent-only binary is the agent command at its root: its help shows
// its own name and a mistake is reported as by `crmwatch agent`.
func TestAgentBinary(t *testing.T) {
	help, err := run("--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(help, "crmwatch-agent --roles auto") || strings.Contains(help, "crmwatch agent ") {
		t.Errorf("help should show crmwatch-agent in its examples:\n%s", help)
	}
	_, err = run("--name", "h", "--state", t.TempDir(), "--roles", "Nope")
	if err == nil || !strings.Contains(err.Error(), `unknown role "Nope"`) || !strings.Contains(err.Error(), "AppServer") {
		t.Errorf("a mistyped role: %v, want the unknown role named with the valid ones", err)
	}
	if _, err := run("--rols", "AppServer"); err == nil || !strings.Contains(err.Error(), "unknown flag: --rols") || !strings.Contains(err.Error(), "crmwatch-agent --help") {
		t.Errorf("a mistyped flag: %v, want it named with where the flags are listed", err)
	}
	if _, err := run("--log-level", "loud", "--name", "h", "--roles", "none"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("a bad --log-level: %v", err)
	}
}
