package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"www.velocidex.com/golang/evtx"
)

// EVTXStats count what reading an EVTX file found. Corrupt parts are
// skipped, never fatal: a corrupt chunk loses its records (counted as
// SkippedRecords when its header still says how many), a record the
// library could not parse is skipped, one that parsed into something
// without provider, id or time is Malformed.
type EVTXStats struct {
	Chunks         int `json:"chunks"`
	CorruptChunks  int `json:"corrupt_chunks"`
	Records        int `json:"records"`
	SkippedRecords int `json:"skipped_records"`
	Malformed      int `json:"malformed"`
}

// Add sums two stats.
func (s *EVTXStats) Add(o EVTXStats) {
	s.Chunks += o.Chunks
	s.CorruptChunks += o.CorruptChunks
	s.Records += o.Records
	s.SkippedRecords += o.SkippedRecords
	s.Malformed += o.Malformed
}

// ErrNotEVTX is returned for a file without the EVTX file header.
var ErrNotEVTX = errors.New("not an EVTX file (no ElfFile header)")

const (
	evtxHeaderMagic = "ElfFile\x00"
	evtxChunkMagic  = "ElfChnk\x00"
	evtxChunkSize   = 0x10000
	// maxChunkRecords is the most records a 64 KiB chunk can hold (a
	// record takes at least its 24-byte header and 4-byte size copy);
	// more in a header means the header is corrupt.
	maxChunkRecords = evtxChunkSize / 28
)

// IsEVTX reports whether the first bytes are an EVTX file header.
func IsEVTX(head []byte) bool { return bytes.HasPrefix(head, []byte(evtxHeaderMagic)) }

// ReadEVTX decodes every chunk of an EVTX file of the given size and calls
// fn with each record in file order. It stops early only when fn returns
// an error (returned as is) or the file is not EVTX at all (ErrNotEVTX,
// or the read error of its header).
func ReadEVTX(r io.ReaderAt, size int64, fn func(Record) error) (EVTXStats, error) {
	var st EVTXStats
	var hdr evtx.EVTXHeader
	if err := binary.Read(io.NewSectionReader(r, 0, size), binary.LittleEndian, &hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return st, ErrNotEVTX
		}
		return st, fmt.Errorf("read EVTX header: %w", err)
	}
	if string(hdr.Magic[:]) != evtxHeaderMagic {
		return st, ErrNotEVTX
	}
	first := int64(hdr.HeaderBlockSize)
	if first <= 0 || first > evtxChunkSize {
		first = 0x1000 // the size every Windows version writes
	}
	for off := first; off+evtxChunkSize <= size; off += evtxChunkSize {
		recs, expected, state := readChunk(io.NewSectionReader(r, off, evtxChunkSize))
		switch state {
		case chunkEmpty:
			continue
		case chunkCorrupt:
			st.CorruptChunks++
		default:
			st.Chunks++
		}
		if expected > len(recs) {
			st.SkippedRecords += expected - len(recs)
		}
		for _, er := range recs {
			rec, err := recordFromEVTX(er)
			if err != nil {
				st.Malformed++
				continue
			}
			st.Records++
			if err := fn(rec); err != nil {
				return st, err
			}
		}
	}
	if rest := (size - first) % evtxChunkSize; size > first && rest != 0 {
		// A truncated last chunk: its records are lost, counted when
		// its header is still there.
		st.CorruptChunks++
		_, expected, _ := readChunk(io.NewSectionReader(r, size-rest, rest))
		st.SkippedRecords += expected
	}
	return st, nil
}

type chunkState int

const (
	chunkOK chunkState = iota
	chunkEmpty
	chunkCorrupt
)

// readChunk parses one chunk. The library may panic on corrupt binary XML;
// that chunk is then corrupt, its records skipped. expected is the record
// count the chunk header claims (0 when it is implausible).
func readChunk(sr *io.SectionReader) (recs []*evtx.EventRecord, expected int, state chunkState) {
	ch, err := evtx.NewChunk(sr, 0)
	if err != nil {
		return nil, 0, chunkCorrupt
	}
	if string(ch.Header.Magic[:]) != evtxChunkMagic {
		if ch.Header == (evtx.ChunkHeader{}) {
			return nil, 0, chunkEmpty // an unused, zero-filled chunk
		}
		return nil, 0, chunkCorrupt
	}
	h := ch.Header
	if h.LastEventRecNumber >= h.FirstEventRecNumber && h.LastEventRecNumber-h.FirstEventRecNumber < maxChunkRecords {
		expected = int(h.LastEventRecNumber-h.FirstEventRecNumber) + 1
	}
	defer func() {
		if recover() != nil {
			recs, state = nil, chunkCorrupt
		}
	}()
	recs, err = ch.Parse(0)
	if err != nil {
		return recs, expected, chunkCorrupt
	}
	if expected > 0 && len(recs) > expected {
		recs = recs[:expected]
	}
	return recs, expected, chunkOK
}

// dict is the part of *ordereddict.Dict the conversion reads.
type dict interface {
	Get(key string) (any, bool)
	Keys() []string
}

func getDict(d dict, key string) dict {
	if d == nil {
		return nil
	}
	v, _ := d.Get(key)
	if x, ok := v.(dict); ok {
		return x
	}
	return nil
}

func get(d dict, key string) any {
	if d == nil {
		return nil
	}
	v, _ := d.Get(key)
	return v
}

// recordFromEVTX turns the library's expanded event into a Record with the
// same fields the XML decoder reads.
func recordFromEVTX(er *evtx.EventRecord) (Record, error) {
	root, _ := er.Event.(dict)
	ev := getDict(root, "Event")
	sys := getDict(ev, "System")
	if sys == nil {
		return Record{}, fmt.Errorf("%w: record %d has no System element", ErrMalformed, er.Header.RecordID)
	}
	r := Record{RecordID: er.Header.RecordID}
	if p := getDict(sys, "Provider"); p != nil {
		r.Provider = strings.TrimSpace(valueString(get(p, "Name")))
		if r.Provider == "" {
			r.Provider = strings.TrimSpace(valueString(get(p, "EventSourceName")))
		}
	}
	switch id := get(sys, "EventID").(type) {
	case dict:
		v, ok := toUint(get(id, "Value"))
		if !ok || v > math.MaxUint16 {
			return r, fmt.Errorf("%w: record %d: event id %v", ErrMalformed, r.RecordID, get(id, "Value"))
		}
		r.EventID = uint16(v)
		if q, ok := toUint(get(id, "Qualifiers")); ok && q <= math.MaxUint16 {
			r.Qualifiers, r.HasQualifiers = uint16(q), true
		}
	default:
		v, ok := toUint(id)
		if !ok || v > math.MaxUint16 {
			return r, fmt.Errorf("%w: record %d: event id %v", ErrMalformed, r.RecordID, id)
		}
		r.EventID = uint16(v)
	}
	if l, ok := toUint(get(sys, "Level")); ok && l <= math.MaxUint8 {
		r.Level = uint8(l)
	}
	if rid, ok := toUint(get(sys, "EventRecordID")); ok {
		r.RecordID = rid
	}
	r.Channel = valueString(get(sys, "Channel"))
	r.Computer = valueString(get(sys, "Computer"))
	r.Time = evtxTime(get(getDict(sys, "TimeCreated"), "SystemTime"))
	if r.Provider == "" || r.Time.IsZero() {
		return r, fmt.Errorf("%w: record %d has no provider or time", ErrMalformed, r.RecordID)
	}
	if data := getDict(ev, "EventData"); data != nil {
		r.Data = eventData(r.Data, data)
	}
	if ud := getDict(ev, "UserData"); ud != nil {
		r.Data = flattenDict(r.Data, ud, 0)
	}
	return r, nil
}

// evtxTime is TimeCreated. The library gives it as float seconds, which
// keep only about 0.2 µs, so it is rounded to the microsecond.
func evtxTime(v any) time.Time {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e11 {
		return time.Time{}
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64(math.Round((f-sec)*1e6))*1e3).UTC()
}

// eventData reads EventData: "Data" holds the unnamed values (a list or
// one value), other keys are named fields; Binary is left out.
func eventData(out []Datum, d dict) []Datum {
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		switch {
		case k == "Binary":
		case k == "Data":
			if list, ok := asList(v); ok {
				for _, x := range list {
					out = append(out, Datum{Value: valueString(x)})
				}
			} else {
				out = append(out, Datum{Value: valueString(v)})
			}
		default:
			if sub, ok := v.(dict); ok {
				out = flattenDict(out, sub, 1)
				continue
			}
			out = append(out, Datum{Name: k, Value: valueString(v)})
		}
	}
	return out
}

// flattenDict adds the leaves of nested UserData as named fields.
func flattenDict(out []Datum, d dict, depth int) []Datum {
	if depth > maxUserDataDepth {
		return out
	}
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		if sub, ok := v.(dict); ok {
			out = flattenDict(out, sub, depth+1)
			continue
		}
		out = append(out, Datum{Name: k, Value: valueString(v)})
	}
	return out
}

// asList returns the elements of a slice of any element type (the library
// gives []string, []any, []uint16 …); []byte is not a list.
func asList(v any) ([]any, bool) {
	if _, isBytes := v.([]byte); isBytes || v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	case int:
		return uint64(x), x >= 0
	case string:
		u, err := strconv.ParseUint(strings.TrimSpace(x), 10, 64)
		return u, err == nil
	}
	return 0, false
}

func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return fmt.Sprintf("%X", x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	if list, ok := asList(v); ok {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = valueString(e)
		}
		return strings.Join(parts, ", ")
	}
	if u, ok := toUint(v); ok {
		return strconv.FormatUint(u, 10)
	}
	return fmt.Sprint(v)
}
