package tail

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// fuzzMaxRecord is the record cap of FuzzFeed: small, so mutations reach
// records and first lines longer than the cap (the 1 MiB default is the
// same code path, tested whole in TestHugeFirstLineIsCutNotDropped).
const fuzzMaxRecord = 4 << 10

// FuzzFeed splits arbitrary bytes, delivered in arbitrary chunk sizes, into
// records and checks that nothing is lost or invented: with NUL bytes
// removed (the hole a copytruncate leaves, skipped), the preamble plus
// every record (with its line terminator) rebuilds the input; offsets
// point at the record's first byte; a record over the cap is its first
// bytes and marked truncated; the checkpoint ends at the input's end.
func FuzzFeed(f *testing.F) {
	f.Add([]byte(header("a")+records("a", 0, 3)), uint8(7))
	f.Add([]byte("[x\n[y\r\nbody\n\n[z"), uint8(1))
	f.Add([]byte("no head at all\nstill none"), uint8(3))
	f.Add([]byte("\n\n\n["), uint8(2))
	// copytruncate under a writer without O_APPEND: a NUL hole, then the
	// next record with no line break before it.
	f.Add([]byte(strings.Repeat("\x00", 300)+records("n", 0, 2)), uint8(17))
	f.Add([]byte(header("a")+record("a0")+">cut by the hole"+strings.Repeat("\x00", 100)+record("a1")), uint8(64))
	// a first line longer than the record cap, then a normal record
	f.Add([]byte("[2024-05-01 10:00:00.000] Process: w3wp |"+strings.Repeat("h", fuzzMaxRecord+100)+"\r\n>id=big\r\n"+record("a2")), uint8(200))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var got []Record
		tl, err := New(Options{Dirs: []string{"."}, StartsRecord: startsRecord, DisableNotify: true, BatchRecords: 3, MaxRecordBytes: fuzzMaxRecord,
			Handler: func(_ context.Context, b Batch) error {
				for _, r := range b.Records {
					r.Data = append([]byte(nil), r.Data...)
					got = append(got, r)
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		r := &reader{id: "f"}
		step := int(chunk)%64 + 1
		for at := 0; at < len(in); at += step {
			c := in[at:min(at+step, len(in))]
			for len(c) > 0 {
				used, full := tl.feed(r, c)
				r.readPos += int64(used)
				c = c[used:]
				if full {
					if err := tl.deliver(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := tl.flushPending(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		checkFeed(t, in, r, got)
	})
}

func checkFeed(t *testing.T, in []byte, r *reader, got []Record) {
	t.Helper()
	rebuilt := append([]byte(nil), r.header...)
	for i, rec := range got {
		end := int64(len(in))
		if i+1 < len(got) {
			end = got[i+1].Offset
		}
		part := dropNUL(in[rec.Offset:end])
		if n := len(dropNUL(in[:rec.Offset])); n != len(rebuilt) || in[rec.Offset] == 0 {
			t.Fatalf("record %d at %d: %d bytes before it, want %d, not a NUL", i, rec.Offset, n, len(rebuilt))
		}
		switch {
		case rec.Truncated:
			if !bytes.HasPrefix(part, rec.Data) || len(rec.Data) < fuzzMaxRecord-2 || len(rec.Data) > fuzzMaxRecord {
				t.Fatalf("truncated record %d at %d: %d bytes %q, want the first %d of %q", i, rec.Offset, len(rec.Data), rec.Data, fuzzMaxRecord, part)
			}
		case !bytes.Equal(trimEOL(part), rec.Data) || len(part) > fuzzMaxRecord+2:
			t.Fatalf("record %d at %d = %q, input there %q", i, rec.Offset, rec.Data, part)
		}
		rebuilt = append(rebuilt, part...)
	}
	if len(got) > 0 && !bytes.Equal(rebuilt, dropNUL(in)) {
		t.Fatalf("preamble + records do not rebuild the input:\n%q\n%q", rebuilt, in)
	}
	if len(got) > 0 && r.ckOffset != int64(len(in)) {
		t.Fatalf("checkpoint %d, want %d", r.ckOffset, len(in))
	}
}

func dropNUL(b []byte) []byte { return bytes.ReplaceAll(b, []byte{0}, nil) }
