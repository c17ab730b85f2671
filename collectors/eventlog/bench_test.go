package eventlog

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkXMLDecode decodes rendered events (the wevtutil sample, 4
// events, repeated 256 times) and maps each onto the event contract; one
// op is one pass, records/s is the figure of docs/performance.md.
func BenchmarkXMLDecode(b *testing.B) {
	one, err := os.ReadFile("testdata/xml/wevtutil-crm.xml")
	if err != nil {
		b.Fatal(err)
	}
	in := bytes.Repeat(one, 256)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d := NewXMLDecoder(bytes.NewReader(in))
		for {
			r, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			_ = r.Event("h")
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEVTXDecode reads the real system.evtx (1,881 records in 15
// chunks) and maps each record onto the event contract; one op is one
// pass over the file.
func BenchmarkEVTXDecode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(evtxDir(b), "system.evtx"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_, err := ReadEVTX(bytes.NewReader(data), int64(len(data)), func(r Record) error {
			_ = r.Event("h")
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
