package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"crmwatch/event"
)

// mixedEvents are events with every field set, several zones and a
// repeated string table.
func mixedEvents() []event.Event {
	evs := traceEvents("app1", "fp", 0, 3)
	evs[0].Fields = map[string]string{"thread": "13", "user": "00000000-0000-0000-0000-000000000000"}
	evs[0].RequestID = "1f0c9b5e-7c1a-4b8e-9d7e-2c6a1b3d4e5f"
	evs[1].Time = time.Date(2026, 11, 21, 10, 0, 0, 5, time.FixedZone("", 5*3600+45*60))
	evs[1].EventID, evs[1].Source, evs[1].Level = 17424, "MSCRMPlatform", event.LevelCritical
	evs[1].Role, evs[1].Process = "AsyncService", "CrmAsyncService"
	evs[2].Time = time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", -8*3600))
	evs[2].Message = "multi\nline ü message"
	evs[2].Origin.Offset = -1
	return evs
}

func testSamples(n int) []event.Sample {
	ss := make([]event.Sample, n)
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	paths := []string{`\Processor(_Total)\% Processor Time`, `\Memory\Available MBytes`, `\CRM Async Service(mscrmasyncservice)\Workflow Operations Outstanding`}
	for i := range ss {
		ss[i] = event.Sample{Time: t0.Add(time.Duration(i/len(paths)) * 15 * time.Second), Host: "CRMAPP01", Role: "AppServer",
			Counter: paths[i%len(paths)], Value: float64(i) * 1.5}
	}
	return ss
}

// sameBatch compares batches with times compared as instants and offsets.
func sameBatch(t *testing.T, in, out event.Batch) {
	t.Helper()
	if len(in.Events) != len(out.Events) || len(in.Samples) != len(out.Samples) || in.Host != out.Host {
		t.Fatalf("round trip changed the batch shape: %d/%d events, %d/%d samples, host %q/%q",
			len(in.Events), len(out.Events), len(in.Samples), len(out.Samples), in.Host, out.Host)
	}
	for i := range in.Events {
		a, b := in.Events[i], out.Events[i]
		_, oa := a.Time.Zone()
		_, ob := b.Time.Zone()
		if !a.Time.Equal(b.Time) || oa != ob {
			t.Errorf("event %d time %v → %v", i, a.Time, b.Time)
		}
		a.Time, b.Time = time.Time{}, time.Time{}
		if len(a.Fields) == 0 && len(b.Fields) == 0 {
			a.Fields, b.Fields = nil, nil
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("event %d:\n in  %+v\n out %+v", i, a, b)
		}
	}
	for i := range in.Samples {
		a, b := in.Samples[i], out.Samples[i]
		if !a.Time.Equal(b.Time) || a.Host != b.Host || a.Role != b.Role || a.Counter != b.Counter ||
			math.Float64bits(a.Value) != math.Float64bits(b.Value) {
			t.Errorf("sample %d:\n in  %+v\n out %+v", i, a, b)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	special := testSamples(3)
	special[0].Value, special[1].Value, special[2].Value = math.Inf(-1), math.NaN(), -0.0
	for _, codec := range []string{CodecBinary, CodecJSON} {
		for name, in := range map[string]event.Batch{
			"events":           {Host: "app1", Events: mixedEvents()},
			"samples":          {Host: "CRMAPP01", Samples: testSamples(50)},
			"special values":   {Host: "CRMAPP01", Samples: special},
			"empty host names": {Samples: []event.Sample{{Counter: `\Memory\Available MBytes`}}},
		} {
			t.Run(codec+"/"+name, func(t *testing.T) {
				if codec == CodecJSON && name == "special values" {
					t.Skip("JSON has no NaN or infinities; the binary codec carries them")
				}
				data, err := encodeBatch(codec, in)
				if err != nil {
					t.Fatal(err)
				}
				out, err := decodeBatch(codec, data)
				if err != nil {
					t.Fatal(err)
				}
				sameBatch(t, in, out)
			})
		}
	}
	if _, err := decodeBatch("protobuf-v9", []byte("x")); err == nil {
		t.Error("unknown codec accepted")
	}
	if msgID("a", []byte("x")) == msgID("b", []byte("x")) {
		t.Error("message id ignores the subject")
	}
}

// TestBinaryIsSmaller: the string table keeps a sample batch several
// times smaller than JSON, which is part of why ingest is faster.
func TestBinaryIsSmaller(t *testing.T) {
	b := event.Batch{Host: "CRMAPP01", Samples: testSamples(1000)}
	bin, _ := encodeBatch(CodecBinary, b)
	js, _ := encodeBatch(CodecJSON, b)
	if len(bin)*4 > len(js) {
		t.Errorf("binary %d bytes, JSON %d: want at least 4× smaller", len(bin), len(js))
	}
}

func TestBinaryRejectsMalformed(t *testing.T) {
	good := encodeBinary(event.Batch{Host: "h", Events: mixedEvents()})
	cases := map[string][]byte{
		"empty":            nil,
		"wrong magic":      []byte("XX\x01S\x00\x00"),
		"future version":   []byte("CW\x02S\x00\x00"),
		"unknown kind":     []byte("CW\x01Z\x00\x00"),
		"huge count":       []byte("CW\x01S\x00\xff\xff\xff\xff\x0f"),
		"truncated":        good[:len(good)-3],
		"trailing bytes":   append(append([]byte(nil), good...), 0),
		"bad reference":    []byte("CW\x01S\x00\x01\x00\x00\x05"),
		"unterminated int": []byte("CW\x01S\xff"),
	}
	for name, data := range cases {
		if _, err := decodeBatch(CodecBinary, data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOldJSONAgentsStillWork publishes the way agents before the binary
// codec did (JSON, Crmwatch-Codec: json) next to a binary publisher, and
// the consumer hands both over.
func TestOldJSONAgentsStillWork(t *testing.T) {
	_, _, js, names := startNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old, err := NewPublisher(PublisherOptions{JS: js, Names: names, Codec: CodecJSON})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := NewPublisher(PublisherOptions{JS: js, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPublisher(PublisherOptions{JS: js, Names: names, Codec: "xml"}); err == nil {
		t.Error("an unknown codec must be refused")
	}
	if err := old.Emit(ctx, event.Batch{Host: "old", Events: traceEvents("old", "a", 0, 5), Samples: testSamples(7)}); err != nil {
		t.Fatal(err)
	}
	if err := cur.Emit(ctx, event.Batch{Host: "new", Events: traceEvents("new", "b", 0, 5), Samples: testSamples(7)}); err != nil {
		t.Fatal(err)
	}
	// The oldest agents may not have set the header at all.
	legacy, _ := json.Marshal(event.Batch{Host: "legacy", Samples: testSamples(2)})
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: names.SamplesSubject("legacy"), Data: legacy}); err != nil {
		t.Fatal(err)
	}
	count := func(stream string, want int) (events, samples int) {
		r := NewReader(ReaderOptions{JS: js, Stream: stream}, DecodeBatch)
		rctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() { _ = r.Run(rctx) }()
		timeout := time.After(10 * time.Second)
		for n := 0; n < want; n++ {
			select {
			case it := <-r.C():
				if it.Err != nil {
					t.Fatalf("%s seq %d: %v", stream, it.Seq, it.Err)
				}
				events, samples = events+len(it.Value.Events), samples+len(it.Value.Samples)
			case <-timeout:
				t.Fatalf("read %d of %d messages of %s", n, want, stream)
			}
		}
		return events, samples
	}
	if e, _ := count(names.EventsStream(), 2); e != 10 {
		t.Errorf("events %d, want 10", e)
	}
	if _, s := count(names.SamplesStream(), 3); s != 16 {
		t.Errorf("samples %d, want 16", s)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	good, _ := json.Marshal(event.Batch{Host: "h", Events: traceEvents("h", "fp", 0, 2)})
	for _, s := range [][]byte{good, []byte(`{}`), []byte(`{"events":[{"level":"nope"}]}`), []byte(`[`), nil} {
		f.Add(codecJSON, s)
	}
	f.Add(codecBinary, encodeBinary(event.Batch{Host: "h", Events: mixedEvents()}))
	f.Add(codecBinary, encodeBinary(event.Batch{Host: "h", Samples: testSamples(5)}))
	f.Add(codecBinary, []byte("CW\x01S\x00\x00"))
	f.Fuzz(func(t *testing.T, codec string, data []byte) {
		b, err := decodeBatch(codec, data)
		if err != nil {
			return
		}
		// Whatever decodes encodes again, and the binary form decodes to
		// the same batch.
		if _, err := encodeBatch(codecJSON, b); err != nil && codec == codecJSON {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		again, err := decodeBinary(encodeBinary(b))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if len(again.Events) != len(b.Events) || len(again.Samples) != len(b.Samples) {
			t.Fatalf("re-encoding changed the batch: %d/%d events, %d/%d samples", len(b.Events), len(again.Events), len(b.Samples), len(again.Samples))
		}
	})
}

func BenchmarkEncodeBatch(b *testing.B) {
	for _, codec := range []string{CodecJSON, CodecBinary} {
		batch := event.Batch{Host: "app1", Events: traceEvents("app1", "fp", 0, 100)}
		b.Run("events/"+codec, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeBatch(codec, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSamples decodes a 1,000-sample batch, the server's side
// of the codec.
func BenchmarkDecodeSamples(b *testing.B) {
	for _, codec := range []string{CodecJSON, CodecBinary} {
		data, _ := encodeBatch(codec, event.Batch{Host: "CRMAPP01", Samples: testSamples(1000)})
		b.Run(codec, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeBatch(codec, data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// TestBinaryEncodingIsDeterministic: the same batch always gives the same
// bytes (fields in key order), so a re-sent batch has the same message id.
func TestBinaryEncodingIsDeterministic(t *testing.T) {
	b := event.Batch{Host: "h", Events: mixedEvents()}
	for i := range b.Events {
		b.Events[i].Fields = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8"}
	}
	first := EncodeBatch(b)
	for range 20 {
		if !bytes.Equal(EncodeBatch(b), first) {
			t.Fatal("the same batch encoded to different bytes")
		}
	}
}
