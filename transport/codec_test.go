package transport

import (
	"encoding/json"
	"reflect"
	"testing"

	"crmwatch/event"
)

func TestCodecRoundTrip(t *testing.T) {
	in := event.Batch{Host: "app1", Events: traceEvents("app1", "fp", 0, 3)}
	data, err := encodeBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeBatch(codecJSON, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the batch:\n in  %+v\n out %+v", in, out)
	}
	if _, err := decodeBatch("protobuf-v9", data); err == nil {
		t.Error("unknown codec accepted")
	}
	if msgID("a", data) == msgID("b", data) {
		t.Error("message id ignores the subject")
	}
}

func FuzzDecodeBatch(f *testing.F) {
	good, _ := json.Marshal(event.Batch{Host: "h", Events: traceEvents("h", "fp", 0, 2)})
	for _, s := range [][]byte{good, []byte(`{}`), []byte(`{"events":[{"level":"nope"}]}`), []byte(`[`), nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(codecJSON, data)
		if err != nil {
			return
		}
		// Whatever decodes must encode again.
		if _, err := encodeBatch(b); err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
	})
}

func BenchmarkEncodeBatch(b *testing.B) {
	batch := event.Batch{Host: "app1", Events: traceEvents("app1", "fp", 0, 100)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}
