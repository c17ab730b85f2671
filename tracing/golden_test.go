package tracing

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

type goldenResult struct {
	Header  Header      `json:"header"`
	Records []Record    `json:"records"`
	Stats   ReaderStats `json:"stats"`
}

func readAll(t testing.TB, in []byte, opts ReaderOptions) goldenResult {
	t.Helper()
	rd := NewReaderOptions(bytes.NewReader(in), opts)
	var res goldenResult
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		res.Records = append(res.Records, rec)
	}
	res.Header, res.Stats = rd.Header(), rd.Stats()
	return res
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/input.log")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(readAll(t, raw, ReaderOptions{}), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			want := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("%s differs from the parse (run with -update and review the diff)\ngot:\n%s", want, got)
			}
			// Every record the reader found parses the same on its own bytes.
			checkRecordsReparse(t, raw)
		})
	}
}

// checkRecordsReparse cuts the input at each record offset and checks that
// ParseRecord on that slice agrees with the Reader.
func checkRecordsReparse(t *testing.T, raw []byte) {
	t.Helper()
	res := readAll(t, raw, ReaderOptions{})
	for i, rec := range res.Records {
		end := int64(len(raw))
		if i+1 < len(res.Records) {
			end = res.Records[i+1].Offset
		}
		got, err := ParseRecord(raw[rec.Offset:end])
		if err != nil {
			t.Errorf("record %d: ParseRecord: %v", i, err)
			continue
		}
		got.Offset, got.LineNo = rec.Offset, rec.LineNo
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(rec)
		if !bytes.Equal(a, b) {
			t.Errorf("record %d: ParseRecord and Reader disagree:\n%s\n%s", i, a, b)
		}
	}
}
