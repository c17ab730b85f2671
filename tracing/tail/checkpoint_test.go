package tail

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadStateReportsEveryBadEntry(t *testing.T) {
	dir := t.TempDir()
	bad := `{"version":1,"files":[` +
		`{"id":"zz","path":"a.log","fp_len":0,"fp_hash":"00","offset":-1},` +
		`{"id":"ab","path":"b.log","fp_len":10,"fp_hash":"` + hashFP([]byte("x")) + `","offset":5},` +
		`{"id":"ab","path":"c.log","fp_len":10,"fp_hash":"` + hashFP([]byte("y")) + `","offset":5}]}`
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadState(dir)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"not hex", "fp_hash", "fp_len 0", "offset -1", "listed twice", "delete the file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestSaveIsAtomicAndRoundTrips(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	c := newCounter(t)
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 3))
	tl := newTestTailer(t, dir, state, c, nil)
	scan(t, tl)
	tl.closeAll()
	cps, found, err := loadState(state)
	if err != nil || !found || len(cps) != 1 {
		t.Fatalf("loadState = %v, %v, %v; want one checkpoint", cps, found, err)
	}
	fi, _ := os.Stat(logPath(dir, "a.log"))
	if cps[0].Offset != fi.Size() || cps[0].ID != tl.readers[0].id {
		t.Errorf("checkpoint %+v, want offset %d and id %s", cps[0], fi.Size(), tl.readers[0].id)
	}
	left, _ := filepath.Glob(filepath.Join(state, "*.tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func FuzzParseState(f *testing.F) {
	good, _ := json.Marshal(state{Version: 1, Files: []checkpoint{{ID: "0a1b", Path: "a.log", FPLen: 100, FPHash: hashFP([]byte("x")), Offset: 42}}})
	f.Add(good)
	f.Add([]byte(`{"version":1,"files":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"files":[{"id":"","fp_len":-5}]}`))
	f.Add([]byte(`not json`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		cps, err := parseState(b)
		if err != nil {
			return
		}
		for _, cp := range cps {
			if cerr := cp.check(); cerr != nil {
				t.Fatalf("accepted a bad checkpoint %+v: %v", cp, cerr)
			}
		}
		again, _ := json.Marshal(state{Version: stateVersion, Files: cps})
		if _, err := parseState(again); err != nil {
			t.Fatalf("accepted state does not round-trip: %v", err)
		}
	})
}
