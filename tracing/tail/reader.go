package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// reader is one file lineage: its identity, its read position and the record
// being assembled.
type reader struct {
	id     string // stable identity (hex), Batch.Fingerprint
	name   string // the path the lineage was first followed under, Batch.Name
	fp     []byte // the file's first bytes, grown up to FingerprintSize
	fpHash string // hashFP(fp)
	path   string
	f      *os.File    // nil while closed for idleness
	fi     os.FileInfo // identity of the file at path (os.SameFile)
	size   int64       // size at the last scan

	readPos    int64 // next byte to read
	ckOffset   int64 // everything before it was accepted by the handler
	lastGrowth time.Time
	seen       uint64 // poll generation that last found the file
	slot       uint64 // staggers idle-file checks over the scans
	gone       bool   // left the pattern or deleted: drain, then retire
	truncated  bool   // a lineage whose file was truncated under it
	searched   bool   // its rotated copy was looked for
	changed    bool   // in Tailer.changed: its checkpoint is to be journaled
	waiting    bool   // in Tailer.waiting: a record in progress

	header     []byte
	headerDone bool
	skipToHead bool // started mid-file: drop lines until a record head

	// idleFlush is this lineage's idle time before completing a record:
	// Options.IdleFlush, doubled (up to PartialFlush) each time a record
	// received continuation lines after it was handed over.
	idleFlush  time.Duration
	warnedLate bool
	warnedNUL  bool

	inRec    bool
	cont     bool
	recOff   int64
	rec      []byte
	recTrunc bool

	part    []byte // incomplete last line
	partOff int64
	partLen int64
}

func (r *reader) pending() bool { return r.inRec || r.partLen > 0 }

func (r *reader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

func (r *reader) setFP(fp []byte) {
	r.fp, r.fpHash = fp, hashFP(fp)
}

func (r *reader) checkpoint(now time.Time) checkpoint {
	return checkpoint{ID: r.id, Path: r.path, FPLen: len(r.fp), FPHash: r.fpHash, Offset: r.ckOffset, Size: max(r.size, r.ckOffset), Seen: now}
}

var errReplaced = errors.New("the file was replaced; the next scan picks up the new one")

// advance reads what the file gained, hands over complete records and
// flushes the last one once the file is idle (or gone).
func (t *Tailer) advance(ctx context.Context, r *reader) (more bool, err error) {
	if r.f == nil && !r.gone && r.size > r.readPos {
		if err := t.reopen(r); err != nil {
			t.m.errors.WithLabelValues("open").Inc() // replaced or locked: the next scan sorts it out
		}
	}
	var n int64
	if r.f != nil && (r.gone || r.size > r.readPos) { // gone files are not stat'ed: drain to EOF
		var err error
		if n, more, err = t.readFile(ctx, r); err != nil {
			return false, err
		}
	}
	now := time.Now()
	if n > 0 {
		r.lastGrowth = now
	}
	idle := now.Sub(r.lastGrowth)
	if !more && r.pending() && (r.gone || idle >= t.flushAfter(r)) {
		if err := t.flushPending(ctx, r); err != nil {
			return false, err
		}
	}
	if err := t.deliver(ctx); err != nil {
		return false, err
	}
	if r.pending() {
		if !r.waiting { // Run wakes up when its idle time is up
			r.waiting = true
			t.waiting = append(t.waiting, r)
		}
	} else if !more && idle >= t.opts.CloseAfter {
		r.close()
	}
	return more, nil
}

func (t *Tailer) reopen(r *reader) error {
	f, err := openShared(r.path)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", r.path, err)
	}
	fi, err := f.Stat()
	if err != nil || !os.SameFile(fi, r.fi) {
		_ = f.Close()
		return fmt.Errorf("reopen %s: %w", r.path, errReplaced)
	}
	r.f = f
	return nil
}

// readFile reads from readPos to EOF or the per-turn budget. A full batch is
// delivered at the line boundary that filled it, so a failed delivery leaves
// readPos and the record in progress consistent for the retry.
func (t *Tailer) readFile(ctx context.Context, r *reader) (int64, bool, error) {
	var total int64
	for total < readBudget {
		if ctx.Err() != nil {
			return total, false, ctx.Err()
		}
		n, err := r.f.ReadAt(t.buf, r.readPos)
		if n > 0 {
			t.m.bytesRead.Add(float64(n))
			total += int64(n)
			for chunk := t.buf[:n]; len(chunk) > 0; {
				used, full := t.feed(r, chunk)
				r.readPos += int64(used)
				chunk = chunk[used:]
				if full {
					if derr := t.deliver(ctx); derr != nil {
						return total, false, derr
					}
				}
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n < len(t.buf)) {
			return total, false, nil
		}
		if err != nil {
			t.m.errors.WithLabelValues("read").Inc()
			return total, false, fmt.Errorf("read %s at %d: %w", r.path, r.readPos, err)
		}
	}
	return total, true, nil
}

// feed splits a chunk read at r.readPos into lines; it stops after the line
// that filled the batch and returns how many bytes it consumed.
//
// NUL bytes end a line and are skipped: a copytruncate under a writer that
// does not append (O_APPEND) leaves the file a hole of NULs up to the
// writer's old offset, followed by its next record, with no line break
// between them; the record head after the hole must still start a record.
func (t *Tailer) feed(r *reader, chunk []byte) (int, bool) {
	base, used := r.readPos, 0
	nul := bytes.IndexByte(chunk, 0) // next NUL in chunk, -1: none (the usual case: one scan per chunk)
	for used < len(chunk) {
		rest := chunk[used:]
		if nul == used {
			n := len(rest) - len(bytes.TrimLeft(rest, "\x00"))
			full := t.endPartial(r)
			t.skipNUL(r, base+int64(used), n)
			used += n
			if nul = bytes.IndexByte(chunk[used:], 0); nul >= 0 {
				nul += used
			}
			if full {
				return used, true
			}
			continue
		}
		i := bytes.IndexByte(rest, '\n')
		seg := rest
		if i >= 0 {
			seg = rest[:i+1]
		}
		if nul >= 0 && nul < used+len(seg) {
			seg, i = rest[:nul-used], nul-used-1 // the line ends where the NULs start
		} else if i < 0 {
			r.addPartial(rest, base+int64(used), t.opts.MaxRecordBytes)
			return len(chunk), false
		}
		var full bool
		if r.partLen > 0 {
			r.addPartial(seg, base+int64(used), t.opts.MaxRecordBytes)
			full = t.endPartial(r)
		} else {
			full = t.onLine(r, seg, base+int64(used), int64(len(seg)))
		}
		used += i + 1
		if full {
			return used, true
		}
	}
	return used, false
}

// endPartial hands the incomplete last line on as a line.
func (t *Tailer) endPartial(r *reader) bool {
	if r.partLen == 0 {
		return false
	}
	full := t.onLine(r, r.part, r.partOff, r.partLen)
	r.part, r.partLen = r.part[:0], 0
	return full
}

func (t *Tailer) skipNUL(r *reader, off int64, n int) {
	t.m.nulBytes.Add(float64(n))
	if !r.warnedNUL {
		r.warnedNUL = true
		t.log.Warn("skipped NUL bytes (a copytruncate under a writer without O_APPEND); reading on at the next record",
			"file", r.path, "offset", off, "bytes", n)
	}
}

func (r *reader) addPartial(b []byte, off int64, limit int) {
	if r.partLen == 0 {
		r.partOff = off
	}
	r.partLen += int64(len(b))
	if room := limit - len(r.part); room > 0 {
		r.part = append(r.part, b[:min(room, len(b))]...)
	}
}

// onLine classifies one line (with its terminator; possibly capped, n is its
// true length) as record head, record body or preamble. It reports whether
// the batch is full.
func (t *Tailer) onLine(r *reader, line []byte, off, n int64) bool {
	if t.opts.StartsRecord(trimEOL(line)) {
		full := false
		if r.inRec {
			full = t.finish(r, off)
		}
		r.headerDone, r.skipToHead = true, false
		r.inRec, r.cont, r.recOff = true, false, off
		r.rec, r.recTrunc = r.rec[:0], false
		r.appendRec(line, n, t.opts.MaxRecordBytes)
		return full
	}
	switch {
	case r.skipToHead:
		return false
	case r.inRec:
	case !r.headerDone:
		if room := maxHeaderBytes - len(r.header); room > 0 {
			r.header = append(r.header, line[:min(room, len(line))]...)
		}
		return false
	default:
		r.inRec, r.cont, r.recOff = true, true, off
		r.rec, r.recTrunc = r.rec[:0], false
	}
	r.appendRec(line, n, t.opts.MaxRecordBytes)
	return false
}

func (r *reader) appendRec(line []byte, n int64, limit int) {
	room := limit - len(r.rec)
	if int64(len(line)) < n || room < len(line) {
		r.recTrunc = true
	}
	if room > 0 {
		r.rec = append(r.rec, line[:min(room, len(line))]...)
	}
}

// flushPending completes the record in progress (the file is idle or gone)
// and delivers the batch.
func (t *Tailer) flushPending(ctx context.Context, r *reader) error {
	t.endPartial(r)
	if r.inRec {
		t.finish(r, r.readPos)
	}
	return t.deliver(ctx)
}

// finish moves the record in progress, ending at end, into the batch and
// reports whether the batch is full. The batch only ever holds records of
// the reader being read: every turn ends by delivering it.
func (t *Tailer) finish(r *reader, end int64) bool {
	r.inRec = false
	if r.recTrunc {
		t.m.oversize.Inc()
	}
	if r.cont {
		t.lateContinuation(r)
	}
	t.batch.add(r, trimEOL(r.rec), Record{Offset: r.recOff, Truncated: r.recTrunc, Continued: r.cont}, end)
	return len(t.batch.recs) >= t.opts.BatchRecords || len(t.batch.arena) >= t.opts.BatchBytes
}

// lateContinuation notes lines that continue a record already handed over
// (its writer paused longer than the idle time inside it). They come as a
// Continued record; the lineage waits longer from now on so its writer's
// records stay whole.
func (t *Tailer) lateContinuation(r *reader) {
	t.m.lateContinuations.Inc()
	r.idleFlush = min(2*max(r.idleFlush, t.opts.IdleFlush), t.opts.PartialFlush)
	if !r.warnedLate {
		r.warnedLate = true
		t.log.Warn("lines continued a record already handed over: the writer paused inside a record; this file now waits longer before completing a record",
			"file", r.path, "offset", r.recOff, "idle_flush", r.idleFlush)
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// batch accumulates records of one reader until the handler accepts them.
type batch struct {
	r     *reader
	arena []byte
	recs  []Record
	spans [][2]int
	end   int64
}

func (b *batch) add(r *reader, data []byte, rec Record, end int64) {
	b.r = r
	start := len(b.arena)
	b.arena = append(b.arena, data...)
	b.spans = append(b.spans, [2]int{start, len(b.arena)})
	b.recs = append(b.recs, rec)
	b.end = end
}

func (b *batch) reset() {
	b.r, b.arena, b.recs, b.spans, b.end = nil, b.arena[:0], b.recs[:0], b.spans[:0], 0
}

// deliver hands the batch to the handler and, once it returned nil, moves
// the checkpoint and persists it. On error the batch stays for a retry.
func (t *Tailer) deliver(ctx context.Context) error {
	b := &t.batch
	if b.r == nil || len(b.recs) == 0 {
		return nil
	}
	for i := range b.recs { // the arena may have moved while growing
		b.recs[i].Data = b.arena[b.spans[i][0]:b.spans[i][1]:b.spans[i][1]]
	}
	r := b.r
	name := r.name
	if name == "" {
		name = r.path
	}
	err := t.opts.Handler(ctx, Batch{Path: r.path, Name: name, Fingerprint: r.id, Header: r.header, Records: b.recs, End: b.end})
	if err != nil {
		t.m.errors.WithLabelValues("handler").Inc()
		return fmt.Errorf("hand over %d records of %s: %w", len(b.recs), r.path, err)
	}
	t.m.records.Add(float64(len(b.recs)))
	r.ckOffset = b.end
	b.reset()
	t.touch(r)
	return t.save()
}
