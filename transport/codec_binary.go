package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"crmwatch/event"
)

// The binary codec (Crmwatch-Codec: cwb/1) carries a batch as compact
// records with a per-message string table: a host name, role, counter path,
// category or file name is written once per message and referred to by
// number afterwards. Decoding turns the whole payload into one string and
// slices every field out of it, so a sample costs no allocation and an
// event one (its fields map, if any). JSON decoding was what limited
// ingest; see docs/performance.md.
//
// Layout (integers are unsigned or zig-zag varints unless said otherwise):
//
//	"CW" 0x01 kind('E'|'S')  host(str)  count
//	sample: Δunix-seconds ns zone  host role counter(ref)  value(8 bytes LE float64)
//	event:  Δunix-seconds ns zone  host role source(ref) event-id level(byte)
//	        organization category process request-id(ref) message(str)
//	        nfields {key(ref) value(str)}  collector file fingerprint(ref) offset
//
// str is a length and bytes; ref is 0 followed by a str (a new table
// entry) or k > 0 for table entry k-1. zone is the UTC offset in seconds
// (0 decodes as UTC).
const (
	codecBinary    = "cwb/1"
	binaryMagic0   = 'C'
	binaryMagic1   = 'W'
	binaryVersion  = 1
	kindEvents     = 'E'
	kindSamples    = 'S'
	maxStringTable = 1 << 20
)

var errTruncated = errors.New("truncated payload")

// binEncoder appends a batch to buf.
type binEncoder struct {
	buf   []byte
	table map[string]uint64
	last  int64
	keys  []string // scratch for sorting an event's fields
}

func encodeBinary(b event.Batch) []byte {
	e := binEncoder{buf: make([]byte, 0, 64+40*len(b.Samples)+200*len(b.Events)), table: make(map[string]uint64, 16)}
	kind := byte(kindSamples)
	n := len(b.Samples)
	if len(b.Events) > 0 {
		kind, n = kindEvents, len(b.Events)
	}
	e.buf = append(e.buf, binaryMagic0, binaryMagic1, binaryVersion, kind)
	e.str(b.Host)
	e.buf = binary.AppendUvarint(e.buf, uint64(n))
	if kind == kindSamples {
		for i := range b.Samples {
			e.sample(&b.Samples[i])
		}
		return e.buf
	}
	for i := range b.Events {
		e.event(&b.Events[i])
	}
	return e.buf
}

func (e *binEncoder) str(s string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *binEncoder) ref(s string) {
	if k, ok := e.table[s]; ok {
		e.buf = binary.AppendUvarint(e.buf, k)
		return
	}
	e.buf = append(e.buf, 0)
	e.str(s)
	e.table[s] = uint64(len(e.table) + 1)
}

func (e *binEncoder) time(t time.Time) {
	sec := t.Unix()
	e.buf = binary.AppendVarint(e.buf, sec-e.last)
	e.buf = binary.AppendUvarint(e.buf, uint64(t.Nanosecond()))
	e.last = sec
	_, off := t.Zone()
	e.buf = binary.AppendVarint(e.buf, int64(off))
}

func (e *binEncoder) sample(s *event.Sample) {
	e.time(s.Time)
	e.ref(s.Host)
	e.ref(s.Role)
	e.ref(s.Counter)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(s.Value))
}

func (e *binEncoder) event(ev *event.Event) {
	e.time(ev.Time)
	e.ref(ev.Host)
	e.ref(ev.Role)
	e.ref(ev.Source)
	e.buf = binary.AppendUvarint(e.buf, uint64(ev.EventID))
	e.buf = append(e.buf, byte(ev.Level))
	e.ref(ev.Organization)
	e.ref(ev.Category)
	e.ref(ev.Process)
	e.ref(ev.RequestID)
	e.str(ev.Message)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(ev.Fields)))
	// Sorted: the same batch always encodes to the same bytes, so a batch
	// sent again (from the agent's spool after a crash) has the same
	// Nats-Msg-Id and JetStream stores it once.
	e.keys = e.keys[:0]
	for k := range ev.Fields {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	for _, k := range e.keys {
		e.ref(k)
		e.str(ev.Fields[k])
	}
	e.ref(ev.Origin.Collector)
	e.ref(ev.Origin.File)
	e.ref(ev.Origin.Fingerprint)
	e.buf = binary.AppendVarint(e.buf, ev.Origin.Offset)
}

// binDecoder reads a payload; every string is a substring of s.
type binDecoder struct {
	s     string
	pos   int
	table []string
	last  int64
	zones map[int64]*time.Location
	err   error
}

func decodeBinary(data []byte) (event.Batch, error) {
	if len(data) < 4 || data[0] != binaryMagic0 || data[1] != binaryMagic1 {
		return event.Batch{}, errors.New("decode batch: not a cwb payload")
	}
	if data[2] != binaryVersion {
		return event.Batch{}, fmt.Errorf("decode batch: cwb version %d (agent newer than server? upgrade the server)", data[2])
	}
	d := binDecoder{s: string(data), pos: 4}
	kind := data[3]
	var b event.Batch
	b.Host = d.str()
	n := d.count(minItemBytes(kind))
	switch {
	case d.err != nil:
	case kind == kindSamples:
		b.Samples = make([]event.Sample, n)
		for i := range b.Samples {
			d.sample(&b.Samples[i])
		}
	case kind == kindEvents:
		b.Events = make([]event.Event, n)
		for i := range b.Events {
			d.event(&b.Events[i])
		}
	default:
		d.err = fmt.Errorf("unknown batch kind %q", kind)
	}
	if d.err == nil && d.pos != len(d.s) {
		d.err = fmt.Errorf("%d bytes after the last item", len(d.s)-d.pos)
	}
	if d.err != nil {
		return event.Batch{}, fmt.Errorf("decode batch: %w", d.err)
	}
	return b, nil
}

// minItemBytes is the smallest encoding of one item, which bounds the
// count a payload of a given size can claim.
func minItemBytes(kind byte) int {
	if kind == kindSamples {
		return 14
	}
	return 17
}

func (d *binDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := uvarintString(d.s[d.pos:])
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.pos += n
	return v
}

func (d *binDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads an item count no payload of this size could exceed.
func (d *binDecoder) count(minBytes int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64((len(d.s)-d.pos)/minBytes) {
		d.err = fmt.Errorf("count %d exceeds what %d bytes can hold", v, len(d.s)-d.pos)
		return 0
	}
	return int(v)
}

func (d *binDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.pos) {
		d.err = errTruncated
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

func (d *binDecoder) ref() string {
	k := d.uvarint()
	if d.err != nil {
		return ""
	}
	if k == 0 {
		s := d.str()
		if len(d.table) >= maxStringTable {
			d.err = errors.New("string table too large")
			return ""
		}
		d.table = append(d.table, s)
		return s
	}
	if k > uint64(len(d.table)) {
		d.err = fmt.Errorf("string reference %d beyond the table (%d entries)", k, len(d.table))
		return ""
	}
	return d.table[k-1]
}

func (d *binDecoder) time() time.Time {
	d.last += d.varint()
	ns := d.uvarint()
	off := d.varint()
	if d.err == nil && ns >= 1e9 {
		d.err = fmt.Errorf("nanoseconds %d out of range", ns)
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(d.last, int64(ns))
	if off == 0 {
		return t.UTC()
	}
	if off < -24*3600 || off > 24*3600 {
		d.err = fmt.Errorf("zone offset %ds out of range", off)
		return time.Time{}
	}
	loc := d.zones[off]
	if loc == nil {
		if d.zones == nil {
			d.zones = make(map[int64]*time.Location, 1)
		}
		loc = time.FixedZone("", int(off))
		d.zones[off] = loc
	}
	return t.In(loc)
}

func (d *binDecoder) sample(s *event.Sample) {
	s.Time = d.time()
	s.Host = d.ref()
	s.Role = d.ref()
	s.Counter = d.ref()
	if d.err != nil {
		return
	}
	if len(d.s)-d.pos < 8 {
		d.err = errTruncated
		return
	}
	var u uint64
	for i := 7; i >= 0; i-- {
		u = u<<8 | uint64(d.s[d.pos+i])
	}
	d.pos += 8
	s.Value = math.Float64frombits(u)
}

func (d *binDecoder) event(ev *event.Event) {
	ev.Time = d.time()
	ev.Host = d.ref()
	ev.Role = d.ref()
	ev.Source = d.ref()
	id := d.uvarint()
	if id > math.MaxUint32 && d.err == nil {
		d.err = fmt.Errorf("event id %d out of range", id)
	}
	ev.EventID = uint32(id)
	if d.err == nil {
		if d.pos >= len(d.s) {
			d.err = errTruncated
			return
		}
		ev.Level = event.Level(d.s[d.pos])
		d.pos++
		if ev.Level > event.LevelCritical {
			d.err = fmt.Errorf("level %d unknown", ev.Level)
		}
	}
	ev.Organization = d.ref()
	ev.Category = d.ref()
	ev.Process = d.ref()
	ev.RequestID = d.ref()
	ev.Message = d.str()
	if nf := d.count(2); nf > 0 {
		ev.Fields = make(map[string]string, nf)
		for range nf {
			k := d.ref()
			ev.Fields[k] = d.str()
		}
	}
	ev.Origin.Collector = d.ref()
	ev.Origin.File = d.ref()
	ev.Origin.Fingerprint = d.ref()
	ev.Origin.Offset = d.varint()
}

// uvarintString is binary.Uvarint on a string (no copy to []byte).
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
