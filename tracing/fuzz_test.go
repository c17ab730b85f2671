package tracing

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedInputs returns the golden inputs and each of their lines: the real
// trace lines of the domain reference are the seed corpus.
func seedInputs(f *testing.F) [][]byte {
	f.Helper()
	files, _ := filepath.Glob("testdata/*/input.log")
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
		for _, line := range strings.Split(string(b), "\n") {
			seeds = append(seeds, []byte(line))
		}
	}
	return seeds
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ParseRecord(b)
		if err == nil && !IsRecordStart(firstLine(b)) {
			t.Fatalf("parsed without a record head: %q", b)
		}
		if err != nil && len(rec.Malformed) == 0 && len(bytes.TrimSpace(b)) > 0 {
			t.Fatalf("rejected input kept no malformed line: %q", b)
		}
		_ = rec.Event("h", "r")
	})
}

func FuzzReader(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s, uint16(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint16) {
		rd := NewReaderOptions(bytes.NewReader(b), ReaderOptions{MaxRecordBytes: int(max)})
		var n int64
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Offset < 0 || rec.Offset >= int64(len(b)) {
				t.Fatalf("offset %d out of range", rec.Offset)
			}
			n++
		}
		if st := rd.Stats(); st.Records != n || st.Bytes != int64(len(b)) {
			t.Fatalf("stats %+v, records %d, len %d", st, n, len(b))
		}
	})
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte{'\r'})
}
