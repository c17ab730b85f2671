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
		r.f, r.fi, r.size = c.f, c.fi, c.fi.Size()
		r.setFP(c.fp)
		t.move(r, c.path, c.fi)
		r.seen = t.gen
		return
	}
	if slices.ContainsFunc(t.readers, sameContent) {
		_ = c.f.Close() // a copy of a file being read: reading it would duplicate
		return
	}
	t.slots++
	r := &reader{path: c.path, fi: c.fi, f: c.f, size: c.fi.Size(), seen: t.gen, slot: t.slots, lastGrowth: now}
	r.setFP(c.fp)
	t.readers = append(t.readers, r)
	t.byPath[c.path] = r
	t.touch(r)
	if cp, ok := t.claim(c.fp); ok {
		if cp.Offset <= r.size {
			r.id = cp.ID
			t.begin(r, cp.Offset, false)
			return
		}
		// Shorter than its checkpoint: truncated while we were not running
		// and rewritten with the same first bytes. The old lineage looks
		// for its rotated copy; the file is a new lineage from its start.
		t.lost = append(t.lost, cp)
		t.retired.add(cp) // holds its id until the first scan settles it
	}
	r.id = t.newID(c.fp)
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
	t.touch(r)
}

// begin positions a new lineage at offset; past the start it reads the
// preamble first so every batch carries the file's header.
func (t *Tailer) begin(r *reader, offset int64, skipToHead bool) {
	if r.name == "" {
		r.name = r.path
	}
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
		if t.opts.StartsRecord(trimEOL(line)) || bytes.IndexByte(line, 0) >= 0 {
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
	r.setFP(fp)
	if r.id == "" && len(fp) > 0 {
		r.id = t.newID(fp)
		t.touch(r)
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
	r.changed = false // the entry below supersedes a pending one
	t.changed = slices.DeleteFunc(t.changed, func(x *reader) bool { return x == r })
	if r.id != "" && len(r.fp) > 0 {
		cp := r.checkpoint(now)
		cp.Gone = true
		t.retired.add(cp)
		t.queued = append(t.queued, journalEntry{checkpoint: cp})
	}
}

// claim takes the checkpoint of the lineage whose first bytes fp starts
// with, if one is waiting.
func (t *Tailer) claim(fp []byte) (checkpoint, bool) { return t.retired.claim(fp) }

// newID names a new lineage after its first bytes; a lineage with the same
// first bytes (a file truncated and rewritten with the same preamble) gets
// a different id, so receivers that remember offsets per id never mistake
// its records for ones already seen.
func (t *Tailer) newID(fp []byte) string {
	id := hashFP(fp)[:16]
	for n := 1; t.idInUse(id); n++ {
		id = hashFP(append(slices.Clip(fp), '#', byte(n), byte(n>>8)))[:16]
	}
	return id
}

func (t *Tailer) idInUse(id string) bool {
	return t.retired.has(id) || slices.ContainsFunc(t.readers, func(r *reader) bool { return r.id == id })
}

func (t *Tailer) forget(now time.Time) {
	for _, id := range t.retired.expire(now.Add(-t.opts.ForgetAfter)) {
		t.queued = append(t.queued, journalEntry{checkpoint: checkpoint{ID: id}, Del: true})
	}
}

func (t *Tailer) closeAll() {
	for _, r := range t.readers {
		r.close()
	}
	t.synced = time.Time{} // a clean stop leaves a synced checkpoint file
	_ = t.save()           // best effort: every accepted batch was already saved
	if t.store != nil {
		_ = t.store.sync()
		t.store.close()
	}
}
