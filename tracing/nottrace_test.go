package tracing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderNoHeadWithin(t *testing.T) {
	garbage := strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 10)
	head := "[2020-01-01 00:00:00.0] Process: w3wp |Level: Info |ReqId: a | Op.A\n>fine\n"
	cases := []struct {
		name, in string
		within   int
		lines    int64 // 0: no NotTraceError
		records  int
	}{
		{"garbage stops at the limit", garbage, 3, 3, 0},
		{"short garbage at its end", "a\nb\n", 1000, 2, 0},
		{"without the option garbage is read to the end", garbage, 0, 0, 0},
		{"header and blank lines only are a trace with no records yet", "# CRM Tracing Version 2.0\n\n# ServerRole: AppServer\n", 2, 0, 0},
		{"an empty input is no error", "", 10, 0, 0},
		{"a trace", "# header\n" + head + head, 1, 0, 2},
		{"a few stray lines before the first head", "junk\n" + head, 5, 0, 1},
	}
	for _, c := range cases {
		rd := NewReaderOptions(strings.NewReader(c.in), ReaderOptions{NoHeadWithin: c.within})
		var rec Record
		n := 0
		var err error
		for err = rd.NextInto(&rec); err == nil; err = rd.NextInto(&rec) {
			n++
		}
		var nt *NotTraceError
		switch {
		case c.lines == 0 && !errors.Is(err, io.EOF):
			t.Errorf("%s: err = %v, want EOF", c.name, err)
		case c.lines > 0 && (!errors.As(err, &nt) || nt.Lines != c.lines):
			t.Errorf("%s: err = %v, want not a trace after %d lines", c.name, err, c.lines)
		case c.lines > 0 && err.Error() != "not a CRM trace file: no record head in the first 3 lines" && c.lines == 3:
			t.Errorf("%s: message %q", c.name, err)
		}
		if n != c.records {
			t.Errorf("%s: %d records, want %d", c.name, n, c.records)
		}
	}
}

// FuzzReaderNoHeadWithin: with the not-a-trace check on, a stream ends in
// EOF or a NotTraceError (never another error, never a panic), and a
// NotTraceError comes only before the first record.
func FuzzReaderNoHeadWithin(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s, uint8(3))
	}
	f.Add([]byte("root:x:0:0\nbin:x:1:1\n"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, within uint8) {
		rd := NewReaderOptions(bytes.NewReader(b), ReaderOptions{NoHeadWithin: int(within)})
		n := 0
		for {
			_, err := rd.Next()
			var nt *NotTraceError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &nt):
				if n > 0 || nt.Lines <= 0 {
					t.Fatalf("not a trace after %d records, %d lines", n, nt.Lines)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			n++
		}
	})
}
