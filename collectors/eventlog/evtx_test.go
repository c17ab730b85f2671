package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// evtxDir holds the real EVTX logs of shared/testdata/evtx, copied with
// their licences so that a clean clone tests them.
func evtxDir(testing.TB) string { return "testdata/evtx" }

func readEVTXFile(t testing.TB, path string) ([]Record, EVTXStats, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readEVTXBytes(b)
}

func readEVTXBytes(b []byte) ([]Record, EVTXStats, error) {
	var recs []Record
	st, err := ReadEVTX(bytes.NewReader(b), int64(len(b)), func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, st, err
}

// chunkFacts reads, independently of the library, what each chunk header
// says: its record count and, per record header, id and write time.
type recordHead struct {
	id       uint64
	fileTime uint64
}

func chunkFacts(t testing.TB, b []byte) (chunks int, heads []recordHead) {
	t.Helper()
	for off := 0x1000; off+evtxChunkSize <= len(b); off += evtxChunkSize {
		c := b[off : off+evtxChunkSize]
		if string(c[:8]) != evtxChunkMagic {
			continue
		}
		chunks++
		first, last := binary.LittleEndian.Uint64(c[8:]), binary.LittleEndian.Uint64(c[16:])
		p := 0x200
		for n := first; n <= last; n++ {
			if string(c[p:p+4]) != "\x2a\x2a\x00\x00" {
				t.Fatalf("chunk at %#x: record %d has no record magic", off, n)
			}
			size := binary.LittleEndian.Uint32(c[p+4:])
			heads = append(heads, recordHead{binary.LittleEndian.Uint64(c[p+8:]), binary.LittleEndian.Uint64(c[p+16:])})
			p += int(size)
		}
	}
	return chunks, heads
}

// TestEVTXRealLogs decodes every real log of shared/testdata/evtx: every
// record the chunk headers list is decoded, with the id and write time
// its own record header gives, a provider, an event id and a level.
func TestEVTXRealLogs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(evtxDir(t), "*.evtx"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, _ := os.ReadFile(f)
			chunks, heads := chunkFacts(t, b)
			recs, st, err := readEVTXBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			if st.CorruptChunks != 0 || st.SkippedRecords != 0 || st.Malformed != 0 || st.Chunks != chunks || st.Records != len(heads) || len(recs) != len(heads) {
				t.Fatalf("stats %+v, records %d; want %d chunks and %d records, none skipped", st, len(recs), chunks, len(heads))
			}
			for i, r := range recs {
				h := heads[i]
				wt := time.Unix(int64(h.fileTime/1e7)-11644473600, int64(h.fileTime%1e7)*100).UTC()
				if r.RecordID != h.id || r.Provider == "" || r.Level > 5 || r.Computer == "" || r.Channel == "" {
					t.Fatalf("record %d: %+v (header id %d)", i, r, h.id)
				}
				if d := r.Time.Sub(wt); d < -time.Second || d > time.Second {
					t.Errorf("record %d: time %v, written %v", r.RecordID, r.Time, wt)
				}
			}
		})
	}
}

// TestEVTXKnownRecords pins records of the real logs field by field.
func TestEVTXKnownRecords(t *testing.T) {
	dir := evtxDir(t)
	sys, _, err := readEVTXFile(t, filepath.Join(dir, "system.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]Record{}
	for _, r := range sys {
		byID[r.RecordID] = r
	}
	first := byID[1]
	if first.Provider != "EventLog" || first.EventID != 6009 || !first.HasQualifiers || first.Qualifiers != 32768 || first.Level != 4 ||
		first.Computer != "WIN-P4SIAA0SQCO" || first.Channel != "System" ||
		!slices.Equal(first.Data, []Datum{{Value: "10.00."}, {Value: "15063"}, {Value: ""}, {Value: "Multiprocessor Free"}, {Value: "0"}}) {
		t.Errorf("system.evtx record 1 = %+v", first)
	}
	if want := time.Date(2017, 7, 12, 17, 16, 28, 0, time.UTC); first.Time.Truncate(time.Second) != want {
		t.Errorf("record 1 time %v, want %v", first.Time, want)
	}
	k := byID[1000]
	if k.Provider != "Microsoft-Windows-Kernel-General" || k.EventID != 16 || k.HasQualifiers || k.Level != 4 || k.Computer != "DESKTOP-2KGM189" ||
		!slices.Contains(k.Data, Datum{"KeysUpdated", "53"}) || !slices.Contains(k.Data, Datum{"DirtyPages", "4"}) {
		t.Errorf("system.evtx record 1000 = %+v", k)
	}
	if ev := first.Event(""); ev.Source != "EventLog" || ev.EventID != 6009 || ev.Message != "10.00.\n15063\nMultiprocessor Free\n0" || ev.Fields["data4"] != "Multiprocessor Free" {
		t.Errorf("event of record 1 = %+v", ev)
	}
}

// TestEVTXMatchesXML decodes the same Security event from the EVTX file
// and from its rendered XML: both decoders give the same record.
func TestEVTXMatchesXML(t *testing.T) {
	recs, _, err := readEVTXFile(t, filepath.Join(evtxDir(t), "Velocidex_Security_1_record.evtx"))
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	b, _ := os.ReadFile("testdata/xml/eventviewer-rendered.xml")
	x := decodeAll(t, bytes.NewReader(b))[1]
	e := recs[0]
	if e.Provider != x.Provider || e.EventID != x.EventID || e.Level != x.Level || e.RecordID != x.RecordID || e.Computer != x.Computer ||
		e.Channel != x.Channel || len(e.Data) != len(x.Data) || !e.Time.Truncate(time.Microsecond).Equal(x.Time.Truncate(time.Microsecond)) {
		t.Fatalf("EVTX %+v\nXML  %+v", e, x)
	}
	for i := range x.Data[:3] { // SubjectLogonId: EVTX keeps the number, the rendering writes it in hex
		if e.Data[i] != x.Data[i] {
			t.Errorf("data %d: EVTX %v, XML %v", i, e.Data[i], x.Data[i])
		}
	}
}

// TestEVTXCorrupt damages copies of the real system log: a destroyed chunk
// header, garbage inside a chunk, a broken record and a truncated file are
// skipped and counted; every other record still decodes and nothing panics.
func TestEVTXCorrupt(t *testing.T) {
	orig, _ := os.ReadFile(filepath.Join(evtxDir(t), "system.evtx"))
	good, gst, err := readEVTXBytes(orig)
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(b []byte, i int) []byte { return b[0x1000+i*evtxChunkSize : 0x1000+(i+1)*evtxChunkSize] }
	perChunk := func(i int) int {
		c := chunk(orig, i)
		return int(binary.LittleEndian.Uint64(c[16:])-binary.LittleEndian.Uint64(c[8:])) + 1
	}
	cases := []struct {
		name   string
		damage func(b []byte) []byte
		check  func(t *testing.T, recs []Record, st EVTXStats)
	}{
		{"chunk magic", func(b []byte) []byte { copy(chunk(b, 2), "XXXXXXXX"); return b }, func(t *testing.T, recs []Record, st EVTXStats) {
			if st.CorruptChunks != 1 || len(recs) != len(good)-perChunk(2) {
				t.Errorf("stats %+v, %d records; want one corrupt chunk and %d records", st, len(recs), len(good)-perChunk(2))
			}
		}},
		{"garbage in chunk", func(b []byte) []byte {
			c := chunk(b, 5)
			for i := 0x300; i < 0x8000; i += 7 {
				c[i] ^= 0xA5
			}
			return b
		}, func(t *testing.T, recs []Record, st EVTXStats) {
			lost := st.SkippedRecords + st.Malformed
			if len(recs) < len(good)-perChunk(5) || len(recs)+lost < len(good)-perChunk(5) {
				t.Errorf("stats %+v, %d records: the other chunks must decode whole", st, len(recs))
			}
		}},
		{"record magic", func(b []byte) []byte {
			c := chunk(b, 0)
			p := 0x200
			for range 10 { // break the 11th record of chunk 0
				p += int(binary.LittleEndian.Uint32(c[p+4:]))
			}
			copy(c[p:], "\x00\x00\x00\x00")
			return b
		}, func(t *testing.T, recs []Record, st EVTXStats) {
			if st.SkippedRecords != perChunk(0)-10 || len(recs) != len(good)-(perChunk(0)-10) {
				t.Errorf("stats %+v, %d records; want the %d records from the 11th of chunk 0 on skipped", st, len(recs), perChunk(0)-10)
			}
		}},
		{"truncated", func(b []byte) []byte { return b[:0x1000+(gst.Chunks-1)*evtxChunkSize+evtxChunkSize/2] }, func(t *testing.T, recs []Record, st EVTXStats) {
			if st.CorruptChunks != 1 || st.SkippedRecords != perChunk(gst.Chunks-1) || len(recs) != len(good)-perChunk(gst.Chunks-1) {
				t.Errorf("stats %+v, %d records", st, len(recs))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, st, err := readEVTXBytes(c.damage(slices.Clone(orig)))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, recs, st)
		})
	}
	if _, _, err := readEVTXBytes([]byte("<Event/>")); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("XML read as EVTX: %v", err)
	}
	if _, _, err := readEVTXBytes(nil); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("empty file: %v", err)
	}
}

// TestEVTXUnboundedArguments is the fuzzer's find: six changed bytes in the
// one-record Security log made the library read an argument count in the
// billions and loop and allocate without bound (patched in
// third_party/evtx). The read now ends at once, the record skipped.
func TestEVTXUnboundedArguments(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(evtxDir(t), "Velocidex_Security_1_record.evtx"))
	// cmp -l offsets are 1-based, values octal.
	for _, c := range []struct {
		off int
		v   byte
	}{{4640, 0o45}, {4641, 0o374}, {4667, 0o56}, {4890, 0o247}, {5868, 0o206}, {5912, 0o41}} {
		b[c.off-1] = c.v
	}
	done := make(chan EVTXStats)
	go func() {
		_, st, _ := readEVTXBytes(b)
		done <- st
	}()
	select {
	case st := <-done:
		if st.Records+st.SkippedRecords+st.Malformed != 1 {
			t.Errorf("stats %+v: the one record must be decoded or counted", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("reading the damaged log did not end")
	}
}
