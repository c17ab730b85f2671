package cli

import "testing"

func TestAgentProcs(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return v
			}
			return ""
		}
	}
	if got := agentProcs(env(""), 8); got != 1 {
		t.Errorf("without $GOMAXPROCS the agent runs on %d Ps, want 1", got)
	}
	// The runtime already applied the operator's $GOMAXPROCS: kept.
	if got := agentProcs(env("4"), 4); got != 4 {
		t.Errorf("with GOMAXPROCS=4 the agent runs on %d Ps, want 4", got)
	}
}
