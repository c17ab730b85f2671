package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzXMLDecoder: any input ends in io.EOF or an error, never a panic or
// an endless loop; every record returned without error has a provider and
// a time, and maps onto an event.
func FuzzXMLDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/xml/*.xml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "<Event/>", "<Events><Event><System><Provider Name='P'/><EventID Qualifiers=''>1</EventID></System></Event></Events>",
		"<Event><System><EventID>99999</EventID></System></Event>", "\xff\xfe<\x00E\x00",
		"<Event><UserData><a><b><c>1</c></b></a></UserData></Event>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewXMLDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			if i > len(b) {
				t.Fatal("more records than input bytes")
			}
			r, err := d.Next()
			if err == io.EOF {
				return
			}
			if errors.Is(err, ErrMalformed) {
				continue
			}
			if err != nil {
				return
			}
			if r.Provider == "" {
				t.Fatalf("record without provider: %+v", r)
			}
			_ = r.Event("h")
			_ = r.View()
		}
	})
}

// FuzzEVTX: the wrapper never panics and never fails on a file that starts
// like EVTX; what it counts adds up to the records it hands over.
func FuzzEVTX(f *testing.F) {
	hdr := make([]byte, 0x1000)
	copy(hdr, evtxHeaderMagic)
	binary.LittleEndian.PutUint32(hdr[32:], 128)
	binary.LittleEndian.PutUint16(hdr[36:], 1)
	binary.LittleEndian.PutUint16(hdr[38:], 3)
	binary.LittleEndian.PutUint16(hdr[40:], 0x1000)
	f.Add(hdr)
	chunk := make([]byte, evtxChunkSize)
	copy(chunk, evtxChunkMagic)
	binary.LittleEndian.PutUint64(chunk[8:], 1)
	binary.LittleEndian.PutUint64(chunk[16:], 3)
	copy(chunk[0x200:], "\x2a\x2a\x00\x00\x30\x00\x00\x00\x01")
	f.Add(append(bytes.Clone(hdr), chunk...))
	// A real one-record log (testdata/evtx, from shared/testdata/evtx).
	b, err := os.ReadFile("testdata/evtx/Velocidex_Security_1_record.evtx")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		st, err := ReadEVTX(bytes.NewReader(b), int64(len(b)), func(r Record) error {
			n++
			if r.Provider == "" || r.Time.IsZero() {
				t.Fatalf("record without provider or time: %+v", r)
			}
			_ = r.Event("h")
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotEVTX) {
			t.Fatalf("only a missing EVTX header may fail the read: %v", err)
		}
		if IsEVTX(b) && len(b) >= 128 && err != nil {
			t.Fatalf("EVTX header present but read failed: %v", err)
		}
		if st.Records != n {
			t.Fatalf("stats say %d records, %d handed over", st.Records, n)
		}
	})
}
