//go:build linux

package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/store"
	"crmwatch/store/sqlstore"
)

// seqPack raises one alert per record "seq=N" (see the package doc).
const seqPack = `format: crmwatch.pack/v1
name: seq
version: 1.0.0
description: One alert per sequence-numbered record (delivery chaos tests).
roles: [AppServer]
`

const seqRules = `rules:
  - id: seq.record
    kind: event
    severity: warning
    summary: 'record {{.Fields.seq}}'
    knowledge: {cause: a test record, resolution: none}
    group_by: [seq]
    resolve_after: 24h
    reopen_within: 0s
    event: {sources: [trace], message: '^seq=(?P<seq>[0-9]+)$'}
`

// stack is one crmwatch deployment under test: a server (embedded NATS
// and SQLite unless natsURL and storeDSN say otherwise) and agents.
type stack struct {
	t        *testing.T
	bin      string
	data     string
	packs    string
	natsURL  string // "" = embedded
	natsPort int
	storeDSN string // "" = SQLite in data
	httpPort int
	extra    []string
	server   *proc
	agents   map[string]*proc
}

func newStack(t *testing.T, natsURL, storeDSN string, extra ...string) *stack {
	t.Helper()
	s := &stack{t: t, bin: binary(t), data: t.TempDir(), packs: t.TempDir(), natsURL: natsURL, storeDSN: storeDSN,
		httpPort: freePort(t), natsPort: freePort(t), extra: extra, agents: map[string]*proc{}}
	write(t, filepath.Join(s.packs, "pack.yaml"), seqPack)
	write(t, filepath.Join(s.packs, "rules", "seq.yaml"), seqRules)
	args := []string{s.bin, "server", "--data", s.data, "--listen", fmt.Sprintf("127.0.0.1:%d", s.httpPort),
		"--packs", s.packs, "--lease-ttl", "2s"}
	if natsURL != "" {
		args = append(args, "--nats", natsURL)
	} else {
		args = append(args, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", s.natsPort))
	}
	if storeDSN != "" {
		args = append(args, "--store", storeDSN)
	}
	s.server = newProc(t, "server", append(args, extra...)...)
	return s
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) agentNATS() string {
	if s.natsURL != "" {
		return s.natsURL
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", s.natsPort)
}

func (s *stack) startServer() {
	s.t.Helper()
	s.server.start()
	waitPort(s.t, s.httpPort, 30*time.Second)
}

// addAgent prepares the agent of host tailing dir (started with start()).
func (s *stack) addAgent(host, dir string, extra ...string) *proc {
	args := []string{agentBinary(s.t), "--name", host, "--roles", "AppServer", "--trace-dir", dir,
		"--nats", s.agentNATS(), "--state", filepath.Join(s.data, "agent-"+host), "--heartbeat", "1s"}
	p := newProc(s.t, "agent-"+host, append(args, extra...)...)
	s.agents[host] = p
	return p
}

// startAgent starts an agent and waits until it follows its trace
// directory: a fresh agent starts at the end of files already there, so
// records written before it looks are, by design, not shipped.
func (s *stack) startAgent(host string) {
	s.t.Helper()
	p := s.agents[host]
	p.start()
	for end := time.Now().Add(30 * time.Second); !strings.Contains(p.logText(), "following trace files"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			s.t.Fatalf("agent %s did not start following its trace directory within 30s", host)
		}
	}
	time.Sleep(300 * time.Millisecond) // its first directory scan
}

func (s *stack) dsn() string {
	if s.storeDSN != "" {
		return s.storeDSN
	}
	return sqlstore.DataDirDSN(s.data)
}

// checkSeq waits until seq.record holds exactly n alerts, one per record,
// each counted once, and names the missing and doubled ones otherwise.
func (s *stack) checkSeq(n int, within time.Duration) {
	s.t.Helper()
	ctx := context.Background()
	var page store.AlertPage
	for end := time.Now().Add(within); ; time.Sleep(250 * time.Millisecond) {
		st, err := sqlstore.Open(ctx, s.dsn(), sqlstore.Options{})
		if err == nil {
			page, err = st.Alerts(ctx, store.AlertFilter{Rule: "seq.record", Limit: n + 1000})
			st.Close()
		}
		if err == nil && len(page.Alerts) >= n || time.Now().After(end) {
			break
		}
	}
	seen := map[string]int{}
	var doubled []string
	for _, a := range page.Alerts {
		seen[a.Fields["seq"]]++
		if a.RepeatCount != 1 || a.EventCount != 1 {
			doubled = append(doubled, fmt.Sprintf("%s×%d", a.Fields["seq"], a.RepeatCount))
		}
	}
	var missing []int
	for i := range n {
		if seen[strconv.Itoa(i)] != 1 {
			missing = append(missing, i)
		}
	}
	if len(doubled) > 0 {
		s.logOrigins(page, doubled)
	}
	if len(missing) > 0 || len(doubled) > 0 || len(page.Alerts) != n {
		s.t.Fatalf("%d alerts for %d records: %d missing %s, %d counted twice %v", len(page.Alerts), n,
			len(missing), runs(missing), len(doubled), doubled[:min(len(doubled), 10)])
	}
	s.t.Logf("all %d records counted exactly once", n)
}

// logOrigins prints where the events of the first doubled alerts came
// from (collector, file, fingerprint, offset), to tell a re-send the dedup
// missed from a record written twice.
func (s *stack) logOrigins(page store.AlertPage, doubled []string) {
	st, err := sqlstore.Open(context.Background(), s.dsn(), sqlstore.Options{})
	if err != nil {
		return
	}
	defer st.Close()
	if rows, err := sql.Open("sqlite", "file:"+s.dsn()+"?mode=ro"); err == nil {
		r, err := rows.Query(`SELECT mark_key, value, updated_at FROM ingest_marks`)
		if err == nil {
			for r.Next() {
				var k, v string
				var at int64
				_ = r.Scan(&k, &v, &at)
				s.t.Logf("dedup mark %s: %s", k, v)
			}
			r.Close()
		}
		rows.Close()
	}
	shown := 0
	for _, a := range page.Alerts {
		if a.RepeatCount < 2 || shown >= 3 {
			continue
		}
		shown++
		d, err := st.Alert(context.Background(), a.ID)
		if err != nil {
			continue
		}
		for _, e := range d.Events {
			s.t.Logf("record %s: event of host %q from %s file %s fingerprint %q offset %d", a.Fields["seq"], e.Host, e.Origin.Collector, e.Origin.File, e.Origin.Fingerprint, e.Origin.Offset)
		}
	}
}

// waitCounted waits until n seq.record alerts exist.
func (s *stack) waitCounted(n int, within time.Duration) {
	s.t.Helper()
	ctx := context.Background()
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		st, err := sqlstore.Open(ctx, s.dsn(), sqlstore.Options{})
		if err != nil {
			continue
		}
		page, err := st.Alerts(ctx, store.AlertFilter{Rule: "seq.record", Limit: 1})
		st.Close()
		if err == nil && page.Total >= n {
			return
		}
	}
	s.t.Fatalf("fewer than %d records counted after %s", n, within)
}

// runs renders ints as ranges: [0-99 200-250].
func runs(v []int) string {
	var parts []string
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", v[i], v[j]))
		} else {
			parts = append(parts, strconv.Itoa(v[i]))
		}
		i = j + 1
	}
	if len(parts) > 20 {
		parts = append(parts[:20], "…")
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// openAlerts returns the open alerts of rule.
func (s *stack) openAlerts(rule string) []alerts.Alert {
	s.t.Helper()
	st, err := sqlstore.Open(context.Background(), s.dsn(), sqlstore.Options{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	page, err := st.Alerts(context.Background(), store.AlertFilter{Rule: rule, States: []alerts.State{alerts.StateNew, alerts.StateAcknowledged}})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Alerts
}

// traceWriter appends sequence-numbered CRM trace records to a file in
// dir, as the CRM platform would, and rotates it on request.
type traceWriter struct {
	t    *testing.T
	dir  string
	mu   sync.Mutex
	name string
	f    *os.File
	next int
	gen  int
}

func newTraceWriter(t *testing.T) *traceWriter {
	w := &traceWriter{t: t, dir: t.TempDir()}
	w.open()
	t.Cleanup(func() { w.f.Close() })
	return w
}

func (w *traceWriter) open() {
	w.gen++
	// CRM's own naming: {MACHINE}-{process}-{application}-{yyyyMMdd}-{seq}.
	w.name = filepath.Join(w.dir, fmt.Sprintf("CRMAPP01-w3wp-CRMAppPool-20261129-%d.log", w.gen))
	f, err := os.OpenFile(w.name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	w.f = f
}

// write appends n records.
func (w *traceWriter) write(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "[%s] Process: w3wp |Organization:5f4c3d2e-0000-4000-8000-000000000001 |Thread: 12 |Category: Platform |User: 00000000-0000-0000-0000-000000000000 |Level: Warning |ReqId: %d | Seq.Write\n>seq=%d\n",
			time.Now().UTC().Format("2006-01-02 15:04:05.000"), w.next, w.next)
		w.next++
	}
	if _, err := w.f.WriteString(b.String()); err != nil {
		w.t.Errorf("append: %v", err)
	}
}

// written is how many records were written.
func (w *traceWriter) written() int { w.mu.Lock(); defer w.mu.Unlock(); return w.next }

// renameRotate renames the current file to another name inside the
// watched pattern and starts a new file (CRM's own roll-over).
func (w *traceWriter) renameRotate() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
	if err := os.Rename(w.name, strings.TrimSuffix(w.name, ".log")+"-rotated.log"); err != nil {
		w.t.Fatal(err)
	}
	w.open()
}

// copyTruncate copies the file to rotated (a name the agent may not watch)
// and truncates it, the writer going on at offset 0 (logrotate's
// copytruncate).
func (w *traceWriter) copyTruncate(rotated string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := os.ReadFile(w.name)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, rotated), data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := w.f.Truncate(0); err != nil {
		w.t.Fatal(err)
	}
}

// flow writes records at about rate per second until total were written
// or stop closes; each tick of 20 ms writes rate/50.
func (w *traceWriter) flow(total, rate int, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		per := max(1, rate/50)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for w.written() < total {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			w.write(min(per, total-w.written()))
		}
	}()
	return done
}

// waitWritten blocks until n records were written.
func (w *traceWriter) waitWritten(n int) {
	for w.written() < n {
		time.Sleep(5 * time.Millisecond)
	}
}
