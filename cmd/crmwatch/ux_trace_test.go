package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes data to name in a new temporary directory.
func writeTemp(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const passwdLike = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n"

// Issue 17 item 8: an input that is not a CRM trace file is named with
// the reason and the exit status is not 0; trace grep exits like grep.
func TestTraceCommandsOnNonTraceInput(t *testing.T) {
	bad := writeTemp(t, "passwd", passwdLike)
	good := traceDir + "header-crm2011/input.log"
	reason := bad + ": not a CRM trace file: no record head in the first 3 lines\n"

	r := runRoot(t, "trace", "stats", bad)
	if r.code != 1 || r.stdout != "" || r.stderr != "crmwatch: trace stats: "+reason {
		t.Errorf("stats on a non-trace file: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	r = runRoot(t, "trace", "stats", bad, good)
	if r.code != 1 || !strings.Contains(r.stdout, "files              1\n") || r.stderr != "crmwatch: trace stats: "+reason {
		t.Errorf("stats on a trace and a non-trace file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = runRoot(t, "trace", "stats", "--json", bad); r.code != 1 || !strings.Contains(r.stdout, `"rejected": [`) {
		t.Errorf("stats --json: exit %d %s", r.code, r.stdout)
	}
	if r = runRoot(t, "trace", "parse", bad); r.code != 1 || r.stdout != "" || r.stderr != "crmwatch: trace parse: "+reason {
		t.Errorf("parse: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = runRoot(t, "trace", "grep", bad, good); r.code != 2 || r.stderr != "crmwatch: trace grep: "+reason || !strings.Contains(r.stdout, "[2015-12-08") {
		t.Errorf("grep with a non-trace input: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	long := writeTemp(t, "big.txt", strings.Repeat("just some log line\n", 5000))
	if r = runRoot(t, "trace", "stats", long); r.code != 1 || !strings.Contains(r.stderr, "no record head in the first 1000 lines") {
		t.Errorf("long non-trace file: exit %d %s", r.code, r.stderr)
	}

	// grep: 0 when something matched, 1 when nothing did, 2 on errors.
	if r = runRoot(t, "trace", "grep", good, "--category", "Platform.Sql"); r.code != 0 || r.stdout == "" {
		t.Errorf("grep match: exit %d", r.code)
	}
	if r = runRoot(t, "trace", "grep", good, "--level", "error"); r.code != 1 || r.stdout != "" || r.stderr != "" {
		t.Errorf("grep without a match: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = runRoot(t, "trace", "grep", good, "--level", "loud"); r.code != 2 || !strings.Contains(r.stderr, "--level") {
		t.Errorf("grep bad filter: exit %d %q", r.code, r.stderr)
	}
	if r = runRoot(t, "trace", "grep", good, "--no-such-flag"); r.code != 2 {
		t.Errorf("grep bad flag: exit %d %q", r.code, r.stderr)
	}
	if r = runRoot(t, "trace", "grep", "/does/not/exist"); r.code != 2 {
		t.Errorf("grep missing file: exit %d %q", r.code, r.stderr)
	}
	if r = runRoot(t, "trace", "grep"); r.code != 2 {
		t.Errorf("grep without FILES: exit %d %q", r.code, r.stderr)
	}
}

// Issue 17 item 7: a dead OTLP receiver makes trace export show each
// retry, stop after --retries with what failed and what to check, and exit
// non-zero within seconds.
func TestTraceExportToADeadReceiver(t *testing.T) {
	addr := closedPort(t)
	file := traceDir + "header-crm2011/input.log"
	start := time.Now()
	r := runRoot(t, "trace", "export", file, "--otlp", "http://"+addr)
	took := time.Since(start)
	url := "http://" + addr + "/v1/logs"
	for _, want := range []string{
		"trace export: sending 1 input to http://" + addr + "\n",
		"trace export: POST " + url + ": dial tcp " + addr + ": connect: connection refused; retry 1 of 2 in 500ms\n",
		"; retry 2 of 2 in 1s\n",
		"crmwatch: trace export: otlp: POST " + url + " failed after 3 attempts: dial tcp " + addr +
			": connect: connection refused (check the URL and that an OTLP/HTTP receiver, such as an OpenTelemetry Collector with the otlp receiver on port 4318, runs there); 0 log records were exported before that\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 1 || took > 10*time.Second {
		t.Errorf("exit %d after %s, want 1 within seconds", r.code, took)
	}
	r = runRoot(t, "trace", "export", file, "--otlp", "http://"+addr, "--retries", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "failed after 1 attempt:") || strings.Contains(r.stderr, "retry 1") {
		t.Errorf("--retries 0: exit %d %s", r.code, r.stderr)
	}
	if r = runRoot(t, "trace", "export", file, "--otlp", "http://"+addr, "--retries", "-1", "--timeout", "0s"); r.code != 1 ||
		!strings.Contains(r.stderr, "--retries -1: want 0 or more") || !strings.Contains(r.stderr, "--timeout 0s: want a positive duration") {
		t.Errorf("bad --retries/--timeout: %d %s", r.code, r.stderr)
	}
}

// Issue 17 item 9 (top errors, times): top errors keep the numbers that
// identify an error, and trace stats prints times with their offset.
func TestTraceStatsKeepsErrorNumbersAndZones(t *testing.T) {
	rec := func(sec int, msg string) string {
		return fmt.Sprintf("[2026-11-21 23:00:%02d.000] Process: w3wp |Organization:9a1f3c52-6f0e-4a8e-9a53-3b2b6c1d7e01 |Thread: 12 |Category: Platform.Sql |User: 00000000-0000-0000-0000-000000000000 |Level: Error |ReqId: 6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e2a1%d | CrmDbConnection.InternalExecuteReader\n>%s\n", sec, sec, msg)
	}
	file := writeTemp(t, "t.log", rec(1, "Exception when executing query against Contoso_MSCRM on CRMSQL01 (timeout 30 seconds): System.Data.SqlClient.SqlException (0x80131904): Timeout expired.")+
		rec(2, "Exception when executing query against Contoso_MSCRM on CRMSQL02 (timeout 45 seconds): System.Data.SqlClient.SqlException (0x80131904): Timeout expired.")+
		rec(3, "SQL error 1205: Transaction (Process ID 52) was deadlocked. ErrorCode: -2147220970 (0x80040216)"))
	r := runRoot(t, "trace", "stats", file)
	for _, want := range []string{
		"on CRMSQL01 (timeout # seconds): System.Data.SqlClient.SqlException (0x80131904)",
		"on CRMSQL02 (timeout # seconds)",
		"SQL error 1205: Transaction (Process ID #) was deadlocked. ErrorCode: -2147220970 (0x80040216)",
		"first              2026-11-21T23:00:01.000Z\n",
		"  6a3c2e90-1f2b-4c1e-9d7a-0b5f3c8e2a11  0 ms  1 record  1 error\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trace stats lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runRoot(t, "trace", "--tz", "Europe/Berlin", "stats", file)
	if !strings.Contains(r.stdout, "first              2026-11-21T23:00:01.000+01:00\n") {
		t.Errorf("--tz Europe/Berlin:\n%s", r.stdout)
	}
	if r.code != 0 {
		t.Errorf("exit %d", r.code)
	}
}
