package tail

import (
	"bytes"
	"context"
	"testing"
)

// FuzzFeed splits arbitrary bytes, delivered in arbitrary chunk sizes, into
// records and checks that nothing is lost or invented: preamble plus every
// record (with its line terminator) rebuilds the input, offsets point at
// the record's bytes, and the checkpoint ends at the input's end.
func FuzzFeed(f *testing.F) {
	f.Add([]byte(header("a")+records("a", 0, 3)), uint8(7))
	f.Add([]byte("[x\n[y\r\nbody\n\n[z"), uint8(1))
	f.Add([]byte("no head at all\nstill none"), uint8(3))
	f.Add([]byte("\n\n\n["), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var got []Record
		tl, err := New(Options{Dirs: []string{"."}, StartsRecord: startsRecord, DisableNotify: true, BatchRecords: 3,
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
		rebuilt := append([]byte(nil), r.header...)
		for i, rec := range got {
			end := int64(len(in))
			if i+1 < len(got) {
				end = got[i+1].Offset
			}
			if rec.Offset != int64(len(rebuilt)) || !bytes.Equal(trimEOL(in[rec.Offset:end]), rec.Data) {
				t.Fatalf("record %d at %d = %q, input there %q", i, rec.Offset, rec.Data, in[rec.Offset:end])
			}
			rebuilt = append(rebuilt, in[rec.Offset:end]...)
		}
		if len(got) > 0 && !bytes.Equal(rebuilt, in) {
			t.Fatalf("preamble + records do not rebuild the input:\n%q\n%q", rebuilt, in)
		}
		if len(got) > 0 && r.ckOffset != int64(len(in)) {
			t.Fatalf("checkpoint %d, want %d", r.ckOffset, len(in))
		}
	})
}
