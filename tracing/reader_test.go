package tracing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestReaderTruncatesHugeRecords(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("[2020-01-01 00:00:00.0] Process: w3wp |Level: Error | Op\n>")
	b.WriteString(strings.Repeat("x", 300_000)) // one line longer than the read buffer
	b.WriteString("\n[2020-01-01 00:00:01.0] Process: w3wp |Level: Info | Op2\n>ok\n")
	rd := NewReaderOptions(&b, ReaderOptions{MaxRecordBytes: 4096})
	r1, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Truncated || len(r1.Message) > 4096 {
		t.Errorf("first record: truncated=%v len(message)=%d", r1.Truncated, len(r1.Message))
	}
	r2, err := rd.Next()
	if err != nil || r2.Operation != "Op2" || r2.Message != "ok" {
		t.Fatalf("second record = %+v, %v", r2, err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
	if s := rd.Stats(); s.Records != 2 || s.Truncated != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestReaderOneByteReadsAndLocation(t *testing.T) {
	in := "# CRMVersion: 4.0\r\n[2010-05-21 10:49:35.3] Process: w3wp |Level: Error | A\r\n>m\r\n[2010-05-21 10:49:36.3] Process: w3wp |Level: Error | B"
	loc := time.FixedZone("CET", 3600)
	rd := NewReaderOptions(iotest.OneByteReader(strings.NewReader(in)), ReaderOptions{Location: loc, Offset: 100})
	var ops []string
	var offs []int64
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Time.Location() != loc {
			t.Errorf("location = %v", rec.Time.Location())
		}
		ops = append(ops, rec.Operation+":"+rec.Message)
		offs = append(offs, rec.Offset)
	}
	if strings.Join(ops, ",") != "A:m,B:" || offs[0] != 119 || offs[1] != 119+56+5 {
		t.Errorf("ops=%q offs=%v", ops, offs)
	}
	if rd.Header().CRMVersion != "4.0" {
		t.Errorf("header = %+v", rd.Header())
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("disk gone")
	in := io.MultiReader(strings.NewReader("[2020-01-01 00:00:00.0] Process: w3wp |Level: Info | A\n"), iotest.ErrReader(boom))
	rd := NewReader(in)
	if rec, err := rd.Next(); err != nil || rec.Operation != "A" {
		t.Fatalf("first = %+v, %v", rec, err)
	}
	if _, err := rd.Next(); !errors.Is(err, boom) {
		t.Fatalf("want read error, got %v", err)
	}
}

func TestReaderTransientMatchesArena(t *testing.T) {
	data := typicalTrace(500)
	a := NewReader(bytes.NewReader(data))
	b := NewReaderOptions(bytes.NewReader(data), ReaderOptions{Transient: true})
	var ra, rb Record
	for {
		ea, eb := a.NextInto(&ra), b.NextInto(&rb)
		if ea != nil || eb != nil {
			if !errors.Is(ea, io.EOF) || !errors.Is(eb, io.EOF) {
				t.Fatalf("errors %v / %v", ea, eb)
			}
			break
		}
		if ra.Raw != rb.Raw || ra.Message != rb.Message || ra.ReqID != rb.ReqID {
			t.Fatalf("transient record differs at offset %d", ra.Offset)
		}
	}
}
