package tail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// loadState reads the checkpoint state of dir as a restarting tailer would.
func loadState(dir string) ([]checkpoint, bool, error) {
	s, cps, found, _, err := openStore(dir)
	if s != nil {
		s.close()
	}
	return cps, found, err
}

func TestLoadStateReportsEveryBadEntry(t *testing.T) {
	dir := t.TempDir()
	bad := `{"version":2,"files":[` +
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

// TestCheckpointWritesAreIncremental: with many files, a batch of one file
// appends one journal line, not the whole state, and the journal is folded
// into a snapshot once it outgrows it; a restart sees the newest offsets.
func TestCheckpointWritesAreIncremental(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	c := newCounter(t)
	const files = 200
	for i := range files {
		appendFile(t, logPath(dir, "f"+strconv.Itoa(i)+".log"), header("f")+record("f"+strconv.Itoa(i)+"-0"))
	}
	tl := newTestTailer(t, dir, stateDir, c, nil)
	scan(t, tl)
	journal := func() int64 {
		fi, err := os.Stat(filepath.Join(stateDir, journalName(tl.store.gen)))
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := journal()
	appendFile(t, logPath(dir, "f7.log"), record("f7-1"))
	scan(t, tl)
	grew := journal() - before
	whole, _ := json.Marshal(state{Version: stateVersion, Files: tl.allCheckpoints(time.Now())})
	// One record appended to one file: that file's line (twice at most:
	// its fingerprint grew in one scan, its offset moved in the next).
	if grew <= 0 || grew > 700 || 20*grew > int64(len(whole)) {
		t.Errorf("one record in one of %d files grew the journal by %d bytes (whole state %d), want a line or two", files, grew, len(whole))
	}
	// Enough batches make the journal outgrow its snapshot: it is folded in.
	gen := tl.store.gen
	for i := 2; tl.store.gen == gen && i < 5000; i++ {
		appendFile(t, logPath(dir, "f7.log"), record("f7-"+strconv.Itoa(i)))
		scan(t, tl)
	}
	if tl.store.gen == gen {
		t.Fatal("the journal was never compacted")
	}
	if old, _ := filepath.Glob(filepath.Join(stateDir, "*.journal")); len(old) > 1 {
		t.Errorf("journals left after compaction: %v", old)
	}
	appendFile(t, logPath(dir, "f9.log"), record("f9-1"))
	scan(t, tl)
	for _, r := range tl.readers {
		r.close() // crash: no clean stop, the journal holds the newest state
	}
	cps, _, err := loadState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, r := range tl.readers {
		want[r.id] = r.ckOffset
	}
	if len(cps) != files {
		t.Fatalf("%d checkpoints after reload, want %d", len(cps), files)
	}
	for _, cp := range cps {
		if cp.Offset != want[cp.ID] {
			t.Errorf("checkpoint %s (%s) at %d, want %d", cp.ID, cp.Path, cp.Offset, want[cp.ID])
		}
	}
}

// TestJournalCrashCases: a journal cut mid-line (power loss) is dropped
// with at most that lineage going back; a journal of an older generation
// (a crash between writing a new snapshot and removing the old journal) is
// ignored instead of replaying old offsets; a bad line in the middle is an
// error that says what to do.
func TestJournalCrashCases(t *testing.T) {
	cp := func(id string, off int64) checkpoint {
		return checkpoint{ID: id, Path: id + ".log", FPLen: 10, FPHash: hashFP([]byte(id)), Offset: off, Seen: time.Unix(1, 0).UTC()}
	}
	line := func(c checkpoint) string {
		b, _ := encodeEntry(nil, journalEntry{checkpoint: c})
		return string(b)
	}
	snap := func(gen uint64, cps ...checkpoint) string {
		b, _ := json.Marshal(state{Version: stateVersion, Journal: gen, Files: cps})
		return string(b)
	}
	del, _ := encodeEntry(nil, journalEntry{checkpoint: checkpoint{ID: "bb"}, Del: true})
	cases := []struct {
		name     string
		files    map[string]string
		want     map[string]int64
		torn     bool
		errWants []string
	}{
		{"journal over snapshot", map[string]string{
			stateFile: snap(3, cp("aa", 10), cp("bb", 20)), journalName(3): line(cp("aa", 15)) + line(cp("cc", 5)) + string(del),
		}, map[string]int64{"aa": 15, "cc": 5}, false, nil},
		{"first run: journal without snapshot", map[string]string{
			journalName(0): line(cp("aa", 15)),
		}, map[string]int64{"aa": 15}, false, nil},
		{"cut last line", map[string]string{
			stateFile: snap(1, cp("aa", 10)), journalName(1): line(cp("aa", 15)) + line(cp("aa", 99))[:30],
		}, map[string]int64{"aa": 15}, true, nil},
		{"stale journal of an older generation", map[string]string{
			stateFile: snap(2, cp("aa", 50)), journalName(1): line(cp("aa", 15)),
		}, map[string]int64{"aa": 50}, false, nil},
		{"bad line in the middle", map[string]string{
			stateFile: snap(1, cp("aa", 10)), journalName(1): line(cp("aa", 15)) + "{not json}\n" + line(cp("aa", 20)),
		}, nil, false, []string{"line 2", "delete it"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, cps, found, torn, err := openStore(dir)
			if len(tc.errWants) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, w := range tc.errWants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil || !found {
				t.Fatalf("openStore: found %v, %v", found, err)
			}
			defer s.close()
			got := map[string]int64{}
			for _, c := range cps {
				got[c.ID] = c.Offset
			}
			if !mapsEqual(got, tc.want) || torn != tc.torn {
				t.Errorf("loaded %v (torn %v), want %v (torn %v)", got, torn, tc.want, tc.torn)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.journal")); len(left) > 1 {
				t.Errorf("stale journals kept: %v", left)
			}
		})
	}
}

// TestTornJournalIsCompactedAtStart: the tailer starting on a journal with
// a cut last line folds the state into a snapshot, so its own appends do
// not follow the cut line.
func TestTornJournalIsCompactedAtStart(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	c := newCounter(t)
	appendFile(t, logPath(dir, "a.log"), header("a")+records("a", 0, 3))
	tl := newTestTailer(t, dir, state, c, nil)
	scan(t, tl)
	tl.closeAll()
	appendFile(t, filepath.Join(state, journalName(tl.store.gen)), `{"id":"ab","pa`)
	appendFile(t, logPath(dir, "a.log"), records("a", 3, 5))
	tl2 := newTestTailer(t, dir, state, c, nil)
	scan(t, tl2)
	tl2.closeAll()
	if _, _, err := loadState(state); err != nil {
		t.Fatalf("state after restart: %v", err)
	}
	c.expect(t, ids("a", 0, 5)...)
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func FuzzParseState(f *testing.F) {
	good, _ := json.Marshal(state{Version: 2, Journal: 3, Files: []checkpoint{{ID: "0a1b", Path: "a.log", FPLen: 100, FPHash: hashFP([]byte("x")), Offset: 42}}})
	f.Add(good)
	f.Add([]byte(`{"version":1,"files":[]}`))
	f.Add([]byte(`{"version":3}`))
	f.Add([]byte(`{"version":1,"files":[{"id":"","fp_len":-5}]}`))
	f.Add([]byte(`not json`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseState(b)
		if err != nil {
			return
		}
		for _, cp := range s.Files {
			if cerr := cp.check(); cerr != nil {
				t.Fatalf("accepted a bad checkpoint %+v: %v", cp, cerr)
			}
		}
		again, _ := json.Marshal(state{Version: stateVersion, Journal: s.Journal, Files: s.Files})
		if _, err := parseState(again); err != nil {
			t.Fatalf("accepted state does not round-trip: %v", err)
		}
	})
}

// FuzzReplayJournal: arbitrary journal bytes over a snapshot never crash,
// and whatever is accepted is valid and round-trips through a snapshot.
func FuzzReplayJournal(f *testing.F) {
	c := checkpoint{ID: "0a1b", Path: "a.log", FPLen: 100, FPHash: hashFP([]byte("x")), Offset: 42}
	l1, _ := encodeEntry(nil, journalEntry{checkpoint: c})
	l2, _ := encodeEntry(nil, journalEntry{checkpoint: checkpoint{ID: "0a1b"}, Del: true})
	f.Add(l1)
	f.Add(append(append([]byte(nil), l1...), l2...))
	f.Add(l1[:20])
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cps, _, err := replay([]checkpoint{c}, b)
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
			t.Fatalf("replayed state is not a valid snapshot: %v", err)
		}
	})
}

// FuzzEncodeEntry: the hand-written journal encoder writes one line that
// decodes to the entry it was given, whatever the file name holds.
func FuzzEncodeEntry(f *testing.F) {
	f.Add(`C:\Program Files\Microsoft Dynamics CRM\Trace\CRM01-w3wp(15248#65568210)-CRMWeb-20240501-1.log`, int64(42), true)
	f.Add("a\"b\n\x00\u2028ü.log", int64(0), false)
	f.Fuzz(func(t *testing.T, path string, off int64, gone bool) {
		if off < 0 {
			off = -off
		}
		e := journalEntry{checkpoint: checkpoint{ID: "0a1b", Path: path, FPLen: 7, FPHash: hashFP([]byte("x")), Offset: off, Size: off, Seen: time.Unix(1700000000, 123456789).UTC(), Gone: gone}}
		line, err := encodeEntry(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(line, []byte{'\n'}) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("not one line: %q", line)
		}
		got, err := parseEntry(line[:len(line)-1])
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := e
		if !utf8.ValidString(path) { // each invalid byte becomes U+FFFD, as json.Marshal does
			b, _ := json.Marshal(path)
			_ = json.Unmarshal(b, &want.Path)
		}
		if got != want {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	})
}

// TestVersion1CheckpointsAreRead: an agent upgraded from the release that
// rewrote one checkpoint file per batch resumes from that file, then
// journals on top of it.
func TestVersion1CheckpointsAreRead(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	p := logPath(dir, "a.log")
	appendFile(t, p, header("a")+records("a", 0, 3))
	fi, _ := os.Stat(p)
	data, _ := os.ReadFile(p)
	fpLen := min(len(data), DefaultFingerprintSize)
	old := `{"version":1,"files":[{"id":"` + hashFP(data[:fpLen])[:16] + `","path":` + strconv.Quote(p) + `,"fp_len":` + strconv.Itoa(fpLen) +
		`,"fp_hash":"` + hashFP(data[:fpLen]) + `","offset":` + strconv.FormatInt(fi.Size(), 10) + `,"seen":"2026-11-20T10:00:00Z"}]}`
	if err := os.WriteFile(filepath.Join(state, stateFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, records("a", 3, 5))
	c := newCounter(t)
	tl := newTestTailer(t, dir, state, c, nil)
	scan(t, tl)
	tl.closeAll()
	c.expect(t, ids("a", 3, 5)...) // a0..a2 were read by the old release
	cps, _, err := loadState(state)
	if err != nil || len(cps) != 1 || cps[0].Offset <= fi.Size() {
		t.Errorf("state after the upgrade: %+v, %v; want the one file past %d", cps, err, fi.Size())
	}
}
