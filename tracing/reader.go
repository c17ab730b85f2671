package tracing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"
)

// Defaults for ReaderOptions.
const (
	DefaultMaxRecordBytes = 1 << 20  // 1 MiB: far above any real record
	defaultBufferBytes    = 64 << 10 // read buffer; longer lines are read in pieces
)

// ReaderOptions tune a Reader; the zero value uses the defaults.
type ReaderOptions struct {
	// MaxRecordBytes caps the bytes kept per record (default 1 MiB); the
	// rest of an over-long record is dropped and counted as truncated.
	MaxRecordBytes int
	// Location is the zone the zone-less trace timestamps are read in
	// (default UTC; a collector on the CRM server passes time.Local).
	Location *time.Location
	// Offset is the stream offset of the first byte (when resuming a file).
	Offset int64
	// Transient makes the string fields of a record valid only until the
	// next NextInto call (one reused buffer, no allocation at all). For
	// consumers that copy what they keep, such as `trace stats`.
	Transient bool
	// NoHeadWithin, when above 0, makes the Reader give up on input that is
	// not a trace: when NoHeadWithin lines went by without a record head
	// and some of them were neither header nor blank lines, or the input
	// ended that way, NextInto returns a *NotTraceError instead of reading
	// on. 0 reads anything to its end (a stream may start mid-record).
	NoHeadWithin int
}

// NotTraceError says the input has no record head where a CRM trace file
// has one: it is some other file.
type NotTraceError struct {
	// Lines is how many lines were read without finding a record head.
	Lines int64
}

func (e *NotTraceError) Error() string {
	return fmt.Sprintf("not a CRM trace file: no record head in the first %d lines", e.Lines)
}

// ReaderStats counts what a Reader has seen.
type ReaderStats struct {
	Records int64 `json:"records"`
	// Malformed counts lines that fit nothing: lines before the first record
	// that are not header lines, plus every record's Malformed lines.
	Malformed int64 `json:"malformed"`
	// Truncated counts records cut at MaxRecordBytes.
	Truncated int64 `json:"truncated"`
	Bytes     int64 `json:"bytes"`
}

// Reader streams records from a trace file with bounded memory: one read
// buffer and one record buffer capped at MaxRecordBytes.
type Reader struct {
	src  io.Reader
	opts ReaderOptions
	buf  []byte
	r, w int
	err  error // sticky read error (io.EOF at end)

	off    int64 // stream offset of buf[r]
	lineNo int64 // lines completed so far
	partOf bool  // the next bytes continue a line already started
	eol    int64 // length of the line ending just consumed

	header     Header
	seenRecord bool

	rec     []byte // current record text, CRs removed
	recOff  int64
	recLine int64
	recTrun bool
	have    bool

	p     parser
	stats ReaderStats
	arena []byte // record texts, appended and never rewritten (see text)
}

// arenaBytes is the size of one text arena chunk: one allocation serves a
// couple of hundred typical records.
const arenaBytes = 64 << 10

// text returns b as a string without one allocation per record: it is
// copied into an append-only chunk and viewed in place. Bytes of a chunk
// are never written again once viewed, so the strings are immutable; a
// string kept for long (a map key) keeps its 64 KiB chunk alive, so
// long-lived consumers clone what they keep (strings.Clone).
func (r *Reader) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if r.opts.Transient {
		r.arena = append(r.arena[:0], b...)
		return unsafe.String(&r.arena[0], len(b))
	}
	if cap(r.arena)-len(r.arena) < len(b) {
		r.arena = make([]byte, 0, max(arenaBytes, len(b)))
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return unsafe.String(&r.arena[start], len(b))
}

// NewReader returns a Reader with default options.
func NewReader(r io.Reader) *Reader { return NewReaderOptions(r, ReaderOptions{}) }

// NewReaderOptions returns a Reader with opts (zero fields take defaults).
func NewReaderOptions(r io.Reader, opts ReaderOptions) *Reader {
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	return &Reader{src: r, opts: opts, buf: make([]byte, defaultBufferBytes), off: opts.Offset}
}

// Header returns the file's `#` header block (complete once the first record
// has been returned, or at EOF).
func (r *Reader) Header() Header { return r.header }

// Stats returns the counters so far.
func (r *Reader) Stats() ReaderStats { return r.stats }

// Next returns the next record, io.EOF at the end, or a read error.
func (r *Reader) Next() (Record, error) {
	var rec Record
	err := r.NextInto(&rec)
	return rec, err
}

// NextInto is Next into a caller-owned Record, reusing its CallStack and
// Malformed slices. The string fields view an append-only text arena (no
// allocation per record); clone any you keep for long (see Reader.text).
func (r *Reader) NextInto(rec *Record) error {
	for {
		line, cont, err := r.readLine()
		if err != nil {
			if r.have {
				r.emit(rec)
				return nil
			}
			if errors.Is(err, io.EOF) && r.notTrace() {
				return &NotTraceError{Lines: r.lineNo}
			}
			return err
		}
		if !cont && IsRecordStart(line) {
			if r.have {
				r.emit(rec)
				r.start(line)
				return nil
			}
			r.start(line)
			continue
		}
		if r.have {
			r.add(line, cont)
			continue
		}
		r.preamble(line, cont)
		if r.lineNo >= int64(r.opts.NoHeadWithin) && r.notTrace() {
			return &NotTraceError{Lines: r.lineNo}
		}
	}
}

// notTrace reports whether, with NoHeadWithin set, the lines so far hold no
// record head but malformed lines.
func (r *Reader) notTrace() bool {
	return r.opts.NoHeadWithin > 0 && !r.seenRecord && r.stats.Malformed > 0
}

// preamble handles a line before the first record: header lines, blank
// lines, and otherwise a malformed line.
func (r *Reader) preamble(line []byte, cont bool) {
	if cont {
		return // rest of a long line already counted
	}
	t := bytes.TrimSpace(line)
	switch {
	case len(t) == 0:
	case t[0] == '#' && !r.seenRecord:
		r.header.addLine(string(t))
	default:
		r.stats.Malformed++
	}
}

func (r *Reader) start(line []byte) {
	r.seenRecord = true
	r.have = true
	r.rec = append(r.rec[:0], line...)
	r.recOff = r.off - int64(len(line)) - r.eol
	r.recLine = r.lineNo
	r.recTrun = false
}

func (r *Reader) add(line []byte, cont bool) {
	n := len(line)
	if !cont {
		n++
	}
	if len(r.rec)+n > r.opts.MaxRecordBytes {
		r.recTrun = true
		return
	}
	if !cont {
		r.rec = append(r.rec, '\n')
	}
	r.rec = append(r.rec, line...)
}

func (r *Reader) emit(rec *Record) {
	r.have = false
	rec.reset()
	_ = r.p.parse(rec, r.text(r.rec), r.opts.Location) // the head was validated
	rec.Offset, rec.LineNo, rec.Truncated = r.recOff, r.recLine, r.recTrun
	r.stats.Records++
	r.stats.Malformed += int64(len(rec.Malformed))
	if r.recTrun {
		r.stats.Truncated++
	}
}

// readLine returns the next line without its line ending (CR removed). A
// line longer than the buffer comes in pieces; cont is true for every piece
// after the first. The slice is valid until the next call.
func (r *Reader) readLine() (line []byte, cont bool, err error) {
	cont = r.partOf
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			line = r.buf[r.r : r.r+i]
			r.consume(i + 1)
			r.eol = 1
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
				r.eol = 2
			}
			r.partOf = false
			r.lineNo++
			return line, cont, nil
		}
		if r.err != nil {
			if r.r == r.w {
				return nil, cont, r.err
			}
			line = r.buf[r.r:r.w]
			r.consume(r.w - r.r)
			r.eol = 0
			r.partOf = false
			r.lineNo++
			return bytes.TrimSuffix(line, []byte{'\r'}), cont, nil
		}
		if r.r == 0 && r.w == len(r.buf) {
			// Buffer full without a line end: hand out this piece.
			line = r.buf[:r.w]
			r.consume(r.w)
			r.eol = 0
			r.partOf = true
			return line, cont, nil
		}
		r.fill()
	}
}

func (r *Reader) consume(n int) {
	r.r += n
	r.off += int64(n)
	r.stats.Bytes += int64(n)
}

// fill moves unread bytes to the front and reads more.
func (r *Reader) fill() {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = err
			} else {
				r.err = io.EOF
			}
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}
