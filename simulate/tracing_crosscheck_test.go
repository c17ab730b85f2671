package simulate

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/tracing"

	"crmwatch/event"
)

// TestTracingParserReadsEverything cross-checks the simulator against the
// project's trace parser: every record the strict checker found is read by
// tracing.Reader with the same fields, and nothing is malformed.
func TestTracingParserReadsEverything(t *testing.T) {
	f := newTestFarm(t, Options{Hosts: 9, Seed: 21, CallStack: true,
		Faults: []string{FaultSQLTimeouts, FaultSandboxCrash, FaultPrivilegeErrors, FaultAuthFailures}})
	files := generate(t, f, 300)
	for _, h := range f.Hosts() {
		for _, pf := range files[h.Name] {
			crossCheckFile(t, filepath.Join(h.TraceDir, pf.name), pf, h)
		}
	}
}

func crossCheckFile(t *testing.T, path string, pf parsedFile, h Host) {
	t.Helper()
	fn := tracing.ParseFileName(path)
	if fn.Host != h.Name || fn.Process != pf.process || fn.PID != pf.pid || fn.ID != pf.id ||
		fn.Application != pf.app || fn.Sequence != pf.seq {
		t.Errorf("%s: tracing.ParseFileName = %+v", pf.name, fn)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rd := tracing.NewReader(fh)
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			if i != len(pf.records) {
				t.Errorf("%s: tracing read %d records, the checker %d", pf.name, i, len(pf.records))
			}
			break
		}
		if err != nil {
			t.Fatalf("%s record %d: %v", pf.name, i+1, err)
		}
		if i >= len(pf.records) {
			t.Fatalf("%s: tracing read more records than the checker", pf.name)
		}
		want := pf.records[i]
		got := []string{rec.Process, rec.Organization, rec.Thread, rec.Category, rec.User, rec.Level, rec.ReqID, rec.ActivityID, rec.Operation, rec.Message}
		exp := []string{want.process, want.org, strings.TrimSpace(want.thread), want.category, want.user, want.level, want.reqID, want.activity, want.op, want.message}
		for k := range got {
			if got[k] != exp[k] {
				t.Fatalf("%s record %d field %d: tracing %q, checker %q\n%s", pf.name, i+1, k, got[k], exp[k], rec.Raw)
			}
		}
		if len(rec.Malformed) > 0 || len(rec.CallStack) != want.stack {
			t.Fatalf("%s record %d: malformed %q, %d call-stack lines (want %d)", pf.name, i+1, rec.Malformed, len(rec.CallStack), want.stack)
		}
		if !rec.Time.Equal(want.time) {
			t.Fatalf("%s record %d: time %s, want %s", pf.name, i+1, rec.Time, want.time)
		}
	}
	hdr := rd.Header()
	if hdr.Categories != f0(pf.header, 2) || hdr.ComputerName != h.Name || hdr.CRMVersion != h.CRMVersion || hdr.ServerRole != strings.Join(event.RoleStrings(h.Roles), ", ") {
		t.Errorf("%s: tracing header %+v", pf.name, hdr)
	}
	if st := rd.Stats(); st.Malformed != 0 {
		t.Errorf("%s: tracing counted %d malformed lines", pf.name, st.Malformed)
	}
}

func f0(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}
