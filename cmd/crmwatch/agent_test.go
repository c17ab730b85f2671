package main

import (
	"strings"
	"testing"
)

// TestAgentFlagsReportEverything: bad --set and --otlp-header flags and
// what the collectors and --roles refuse come back in one error, and no
// flag value is repeated.
func TestAgentFlagsReportEverything(t *testing.T) {
	const secret = "s3cret-value"
	_, err := runCLI(t, newAgentCmd(), "--name", "h", "--state", t.TempDir(), "--roles", "auto,Nope",
		"--set", secret, "--set", "collectors.perfcounters.interval=100ms", "--set", "collectors.perfcounters.source=wmi",
		"--otlp-header", secret, "--trace-dir", "/t")
	if err == nil {
		t.Fatal("the agent accepted bad flags")
	}
	for _, want := range []string{"--set #1", "--otlp-header #1", `"Nope"`, "collectors.perfcounters:", "interval 100ms", `source "wmi"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("a flag value leaked into the error: %v", err)
	}
}
