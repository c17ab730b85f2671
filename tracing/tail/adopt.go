package tail

import (
	"bytes"
	"os"
	"slices"
	"time"
)

// adoptAll matches files found at a new path (or a new file at a known path)
// to lineages: first by file identity (a rename inside the pattern), then by
// fingerprint (a copy of a truncated file, a move across file systems, a
// checkpoint from an earlier run), else as a new file.
func (t *Tailer) adoptAll(fresh []candidate, now time.Time) {
	rest := fresh[:0]
	for _, c := range fresh {
		if r := t.unseenBy(func(r *reader) bool { return r.fi != nil && !r.truncated && os.SameFile(r.fi, c.fi) }); r != nil {
			t.move(r, c.path, c.fi)
			t.recheck(r, c.fi)
			continue
		}
		rest = append(rest, c)
	}
	for _, c := range rest {
		f, err := openShared(c.path)
		if err != nil {
			t.m.errors.WithLabelValues("open").Inc()
			continue // locked or vanished; the next scan tries again
		}
		fp, err := readPrefix(f, t.opts.FingerprintSize)
		if err != nil || len(fp) == 0 {
			_ = f.Close() // an empty file cannot be identified yet
			continue
		}
		c.f, c.fp = f, fp
		t.adopt(c, now)
	}
}

func (t *Tailer) adopt(c candidate, now time.Time) {
	sameContent := func(r *reader) bool { return len(r.fp) > 0 && bytes.HasPrefix(c.fp, r.fp) }
	if r := t.unseenBy(sameContent); r != nil {
		// The same bytes under another identity: a copy of a truncated file,
		// or a move that did not keep the file id. Continue the lineage.
		r.close()
		r.gone, r.truncated = false, false
		r.f, r.fi, r.size, r.fp = c.f, c.fi, c.fi.Size(), c.fp
		t.move(r, c.path, c.fi)
		r.seen = t.gen
		return
	}
	if slices.ContainsFunc(t.readers, sameContent) {
		_ = c.f.Close() // a copy of a file being read: reading it would duplicate
		return
	}
	r := &reader{path: c.path, fi: c.fi, f: c.f, fp: c.fp, size: c.fi.Size(), seen: t.gen, lastGrowth: now}
	t.readers = append(t.readers, r)
	t.byPath[c.path] = r
	t.dirty = true
	if cp, ok := t.claimCheckpoint(c.fp); ok {
		r.id = cp.ID
		if cp.Offset > r.size { // truncated while we were not running
			t.m.truncations.Inc()
			cp.Offset = 0
		}
		t.begin(r, cp.Offset, false)
		return
	}
	r.id = hashFP(c.fp)[:16]
	if t.opts.StartAtEnd && t.fresh && t.gen == 1 {
		t.begin(r, r.size, true)
		return
	}
	t.begin(r, 0, false)
}

// unseenBy returns the first lineage not yet found by this scan that
// satisfies match.
func (t *Tailer) unseenBy(match func(*reader) bool) *reader {
	for _, r := range t.readers {
		if r.seen != t.gen && match(r) {
			return r
		}
	}
	return nil
}

func (t *Tailer) move(r *reader, path string, fi os.FileInfo) {
	if t.byPath[r.path] == r {
		delete(t.byPath, r.path)
	}
	r.path, r.fi, r.gone = path, fi, false
	t.byPath[path] = r
	t.dirty = true
}

// begin positions a new lineage at offset; past the start it reads the
// preamble first so every batch carries the file's header.
func (t *Tailer) begin(r *reader, offset int64, skipToHead bool) {
	r.readPos, r.ckOffset, r.skipToHead = offset, offset, skipToHead
	r.header, r.headerDone = r.header[:0], false
	if offset > 0 {
		t.loadHeader(r)
	}
}

func (t *Tailer) loadHeader(r *reader) {
	r.headerDone = true
	if r.f == nil {
		return
	}
	buf := make([]byte, min(int64(maxHeaderBytes), r.size))
	n, _ := r.f.ReadAt(buf, 0)
	for rest := buf[:n]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return // no record head within the preamble limit
		}
		line := rest[:i+1]
		if t.opts.StartsRecord(trimEOL(line)) {
			return
		}
		r.header = append(r.header, line...)
		rest = rest[i+1:]
	}
}

// identify reads the first bytes of a lineage that started on an empty file.
func (t *Tailer) identify(r *reader) {
	if r.f == nil {
		return
	}
	fp, err := readPrefix(r.f, t.opts.FingerprintSize)
	if err != nil {
		t.m.errors.WithLabelValues("read").Inc()
		return
	}
	r.fp = fp
	if r.id == "" && len(fp) > 0 {
		r.id = hashFP(fp)[:16]
	}
}

// retire forgets a drained lineage but keeps its checkpoint for a while, so
// the file is not read again if it comes back.
func (t *Tailer) retire(r *reader, now time.Time) {
	if r.truncated && r.size > r.readPos {
		t.m.missed.Add(float64(r.size - r.readPos))
	}
	r.close()
	t.readers = slices.DeleteFunc(t.readers, func(x *reader) bool { return x == r })
	if t.byPath[r.path] == r {
		delete(t.byPath, r.path)
	}
	if r.id != "" && len(r.fp) > 0 {
		t.retired = append(t.retired, r.checkpoint(now))
	}
	t.dirty = true
}

// claimCheckpoint finds (and removes) the checkpoint of the lineage whose
// first bytes fp starts with, preferring the longest fingerprint.
func (t *Tailer) claimCheckpoint(fp []byte) (checkpoint, bool) {
	best := -1
	for i, cp := range t.retired {
		if cp.FPLen <= 0 || cp.FPLen > len(fp) || (best >= 0 && cp.FPLen <= t.retired[best].FPLen) {
			continue
		}
		if hashFP(fp[:cp.FPLen]) == cp.FPHash {
			best = i
		}
	}
	if best < 0 {
		return checkpoint{}, false
	}
	cp := t.retired[best]
	t.retired = slices.Delete(t.retired, best, best+1)
	return cp, true
}

func (t *Tailer) forget(now time.Time) {
	n := len(t.retired)
	t.retired = slices.DeleteFunc(t.retired, func(cp checkpoint) bool { return now.Sub(cp.Seen) > t.opts.ForgetAfter })
	if len(t.retired) != n {
		t.dirty = true
	}
}

func (t *Tailer) closeAll() {
	for _, r := range t.readers {
		r.close()
	}
	t.synced = time.Time{} // a clean stop leaves a synced checkpoint file
	_ = t.save()           // best effort: every accepted batch was already saved
}
