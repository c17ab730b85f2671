//go:build linux

package chaos

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerKilledAndStopped kills the server (-9) and stops it (SIGTERM)
// repeatedly while an agent ships records, in the default deployment
// (embedded NATS and SQLite, which go down with the server): every record
// counts exactly once.
func TestServerKilledAndStopped(t *testing.T) {
	total, rounds := 2400, 3
	if full() {
		total, rounds = 8000, 10
	}
	s := newStack(t, "", "")
	s.startServer()
	w := newTraceWriter(t)
	s.addAgent("CRMAPP01", w.dir)
	s.startAgent("CRMAPP01")
	done := w.flow(total, 400, nil)
	for i := 1; i <= rounds; i++ {
		w.waitWritten(i * total / (rounds + 1))
		if i%2 == 1 {
			s.server.kill9()
		} else {
			s.server.term(30 * time.Second)
		}
		time.Sleep(300 * time.Millisecond)
		s.startServer()
	}
	<-done
	s.checkSeq(total, 90*time.Second)
}

// TestAgentKilledMidAppend kills the agent while it tails a file being
// appended to: it restarts from its checkpoint and re-sends what it had
// published but not yet checkpointed; the server's dedup marks drop those.
func TestAgentKilledMidAppend(t *testing.T) {
	total, rounds := 2000, 3
	if full() {
		total, rounds = 6000, 10
	}
	s := newStack(t, "", "")
	s.startServer()
	w := newTraceWriter(t)
	agent := s.addAgent("CRMAPP01", w.dir)
	s.startAgent("CRMAPP01")
	done := w.flow(total, 400, nil)
	for i := 1; i <= rounds; i++ {
		w.waitWritten(i * total / (rounds + 1))
		agent.kill9()
		time.Sleep(200 * time.Millisecond)
		agent.start()
	}
	<-done
	s.checkSeq(total, 90*time.Second)
	// The restarted agents re-sent records; the server counted them once.
	if !strings.Contains(agent.logText(), "agent started") {
		t.Fatal("the agent never started")
	}
}

// rotatedConfig tells the agent where rotated copies go, so records a
// copytruncate moved away before the agent read them are read from the copy.
func rotatedConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "agent.yaml")
	write(t, p, "collectors:\n  tracefiles:\n    rotated_patterns: [\"rotated.*\"]\n")
	return p
}

// TestRotationWhileRunning rotates the trace file by rename (CRM's
// roll-over) and by copytruncate (logrotate) while records flow and the
// agent runs; the copy is named outside the watched pattern, where the
// agent's rotated_patterns let it find what it had not read yet.
func TestRotationWhileRunning(t *testing.T) {
	total := 2400
	s := newStack(t, "", "")
	s.startServer()
	w := newTraceWriter(t)
	s.addAgent("CRMAPP01", w.dir, "--config", rotatedConfig(t))
	s.startAgent("CRMAPP01")
	done := w.flow(total, 400, nil)
	w.waitWritten(total / 4)
	w.renameRotate()
	w.waitWritten(total / 2)
	w.copyTruncate("rotated.1")
	w.waitWritten(3 * total / 4)
	w.renameRotate()
	<-done
	s.checkSeq(total, 90*time.Second)
}

// TestCopytruncateWhileAgentStopped: the agent is stopped, the file keeps
// growing and is copytruncated, more records follow; the restarted agent
// detects the truncation and reads the records it missed from the copy.
// The agent's name (an FQDN) differs from the machine name the trace files
// carry, so a record read from the copy (named "rotated.1") must still be
// the same host's record, or the re-sent ones would count twice.
func TestCopytruncateWhileAgentStopped(t *testing.T) {
	total := 1600
	s := newStack(t, "", "")
	s.startServer()
	w := newTraceWriter(t)
	const host = "crmapp01.hosting.local"
	agent := s.addAgent(host, w.dir, "--config", rotatedConfig(t))
	s.startAgent(host)
	stop := make(chan struct{})
	done := w.flow(total, 400, stop)
	w.waitWritten(total / 4)
	agent.term(30 * time.Second)
	w.waitWritten(total / 2)
	w.copyTruncate("rotated.1")
	w.waitWritten(3 * total / 4)
	agent.start()
	<-done
	s.checkSeq(total, 90*time.Second)
}

// TestExternalNATSAndPostgresRestarted runs the scale-out deployment (the
// machine's nats-server binary, PostgreSQL) and restarts each under load.
func TestExternalNATSAndPostgresRestarted(t *testing.T) {
	total := 2400
	if full() {
		total = 6000
	}
	nats := startNATSServer(t)
	pg := startPostgres(t)
	s := newStack(t, nats.url(), pg.dsn())
	s.startServer()
	w := newTraceWriter(t)
	s.addAgent("CRMAPP01", w.dir)
	s.startAgent("CRMAPP01")
	done := w.flow(total, 400, nil)
	w.waitWritten(total / 3)
	nats.restart()
	w.waitWritten(2 * total / 3)
	pg.restart(time.Second)
	<-done
	s.checkSeq(total, 120*time.Second)
}

// TestServerOutageNoSpuriousAgentMissing stops the server for longer than
// the missing-agent rule's after while agents keep running: when it comes
// back, no agent is paged. The bounded case shortens the rule to 3s (an
// override) and the outage to 8s; make chaos uses the built-in 3 minutes
// and a 5-minute outage.
func TestServerOutageNoSpuriousAgentMissing(t *testing.T) {
	outage, grace := 8*time.Second, 6*time.Second
	var extra []string
	if full() {
		outage, grace = 5*time.Minute, 4*time.Minute
	} else {
		over := filepath.Join(t.TempDir(), "overrides.yaml")
		write(t, over, "format: crmwatch.overrides/v1\noverrides:\n  - {rule: crm.agent.missing, after: 3s}\n")
		extra = []string{"--overrides", over}
	}
	s := newStack(t, "", "", extra...)
	s.startServer()
	for _, h := range []string{"CRMAPP01", "CRMAPP02"} {
		s.addAgent(h, newTraceWriter(t).dir)
		s.startAgent(h)
	}
	time.Sleep(3 * time.Second) // heartbeats registered
	s.server.term(30 * time.Second)
	time.Sleep(outage)
	s.startServer()
	for end := time.Now().Add(grace); time.Now().Before(end); time.Sleep(time.Second) {
		if open := s.openAlerts("crm.agent.missing"); len(open) > 0 {
			t.Fatalf("agent %v paged %s after the server came back: its own outage counted against the agents", open[0].Hosts, time.Until(end))
		}
	}
	// A silent agent is still paged: stop one and wait past the rule.
	if !full() {
		s.agents["CRMAPP02"].kill9()
		for end := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			if open := s.openAlerts("crm.agent.missing"); len(open) == 1 && open[0].Hosts[0] == "CRMAPP02" {
				break
			}
			if time.Now().After(end) {
				t.Fatal("the agent that really went silent was never paged")
			}
		}
	}
}
