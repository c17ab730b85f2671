package tail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// poll is one scan: match the files in the directories to known lineages,
// read what they gained, drain and retire the ones that went away. more
// reports that a file still has unread bytes (its read budget ran out).
func (t *Tailer) poll(ctx context.Context) (more bool, err error) {
	t.gen++
	if err := t.deliver(ctx); err != nil { // a batch refused last time goes first
		return false, err
	}
	now := time.Now()
	every, trusted := t.coldEvery(now), t.trusted(now)
	paths, moved, reread := t.list(now, trusted)
	statAll := moved || t.statAll || t.gen == 1
	var fresh []candidate
	if reread || statAll {
		for _, p := range paths {
			fresh = t.visit(p, t.byPath[p], statAll, every, trusted, now, fresh)
		}
	} else {
		// The listing stands: every listed file is a lineage being read or
		// one not adopted yet; no path needs looking up.
		for _, r := range t.readers {
			if !r.gone {
				fresh = t.visit(r.path, r, false, every, trusted, now, fresh)
			}
		}
		for _, p := range t.unadopted {
			fresh = t.visit(p, nil, false, every, trusted, now, fresh)
		}
	}
	clear(t.forced)
	t.statAll = false
	t.adoptAll(fresh, now)
	t.unadopted = t.unadopted[:0]
	for _, c := range fresh {
		if t.byPath[c.path] == nil {
			t.unadopted = append(t.unadopted, c.path)
		}
	}
	t.checkStopped(now, t.gen == 1)
	for _, r := range t.readers {
		if r.seen != t.gen && !r.gone {
			r.gone = true // deleted or moved out of the pattern: drain, then retire
			delete(t.byPath, r.path)
		}
	}
	t.m.filesWatched.Set(float64(len(t.readers)))
	work := t.work[:0]
	for _, r := range t.readers {
		if r.f != nil || r.gone || r.pending() || r.size > r.readPos { // else closed, read to its end, nothing in progress
			work = append(work, r)
		}
	}
	t.work = work
	for _, r := range work {
		// Whatever was written between the last stat and the truncation is
		// in the rotated copy only, so it is searched even when this lineage
		// had read all it had seen; the copy's size says what is left.
		if r.truncated && r.f == nil && !r.searched && len(t.opts.RotatedPatterns) > 0 {
			t.recoverRunning(r)
		}
		m, err := t.advance(ctx, r)
		if err != nil {
			return false, err
		}
		more = more || m
		if r.gone && !m && !r.pending() {
			t.retire(r, now)
		}
	}
	t.forget(now)
	return more, t.save()
}

// visit stats a listed file when it is due (r is its lineage, nil for a file
// not followed yet): a known file is rechecked, anything else is a
// candidate for adoption.
func (t *Tailer) visit(p string, r *reader, statAll bool, every uint64, trusted bool, now time.Time, fresh []candidate) []candidate {
	if r != nil && !statAll && !t.due(r, p, every, trusted) {
		r.seen = t.gen // idle and not its turn: its last check stands
		return fresh
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return fresh // vanished between listing and stat, or not a file
	}
	if r != nil && !r.gone && r.fi != nil && os.SameFile(r.fi, fi) {
		prev := r.size
		if !t.recheck(r, fi) && r.size > prev {
			if len(t.forced) > 0 && t.forced[p] {
				t.announced()
			} else {
				t.grownByScan(p, now)
			}
		}
		return fresh
	}
	return append(fresh, candidate{path: p, fi: fi})
}

// due reports whether a scan must stat a known file. A file a
// notification named is stat'ed at once. Otherwise, while notifications
// are not trusted to announce writes, a file whose handle is open (it
// changed within CloseAfter) is stat'ed every scan and an idle one every
// ColdPollInterval; while they are, every file is on the slow turn (see
// coldEvery). Turns are staggered so the stats spread over the scans.
func (t *Tailer) due(r *reader, path string, every uint64, trusted bool) bool {
	if r.gone || len(t.forced) > 0 && t.forced[path] || !trusted && (r.f != nil || r.pending()) {
		return true
	}
	return (t.gen+r.slot)%every == 0
}

// check is the light turn between full scans: it looks at the files
// notifications named (stat, truncation check, read) and completes the
// records of files whose idle time is up. rescan asks for a full scan:
// a named file is new, replaced or truncated.
func (t *Tailer) check(ctx context.Context, paths []string) (more, rescan bool, err error) {
	for _, p := range paths {
		r := t.byPath[p]
		if r == nil || r.gone {
			rescan = rescan || t.inPattern(p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !os.SameFile(r.fi, fi) {
			rescan = true
			continue
		}
		prev := r.size
		if t.recheck(r, fi) {
			rescan = true
			continue
		}
		if r.size > prev {
			t.announced()
		}
		m, err := t.advance(ctx, r)
		if err != nil {
			return false, rescan, err
		}
		more = more || m
	}
	now := time.Now()
	for _, r := range slices.Clone(t.waiting) {
		if r.pending() && (r.gone || !now.Before(r.lastGrowth.Add(t.flushAfter(r)))) {
			m, err := t.advance(ctx, r)
			if err != nil {
				return false, rescan, err
			}
			more = more || m
		}
	}
	return more, rescan, t.save()
}

// nextIdle is the earliest time a file's record in progress is due to be
// completed.
func (t *Tailer) nextIdle() (time.Time, bool) {
	var at time.Time
	found := false
	t.waiting = slices.DeleteFunc(t.waiting, func(r *reader) bool {
		if !r.pending() {
			r.waiting = false
			return true
		}
		if due := r.lastGrowth.Add(t.flushAfter(r)); !found || due.Before(at) {
			at, found = due, true
		}
		return false
	})
	return at, found
}

// flushAfter is how long r must be idle before its record in progress is
// complete: longer while its last line is unterminated, and for a lineage
// whose writer was seen pausing inside a record.
func (t *Tailer) flushAfter(r *reader) time.Duration {
	if r.partLen > 0 {
		return t.opts.PartialFlush
	}
	return max(r.idleFlush, t.opts.IdleFlush)
}

func (t *Tailer) inPattern(p string) bool { return t.match.match(filepath.Base(p)) }

type candidate struct {
	path string
	fi   os.FileInfo
	f    *os.File
	fp   []byte
}

// recheck looks at a known file found again: a size below the read
// position, or first bytes that changed, mean it was truncated
// (copytruncate) or rewritten in place. The old lineage then lives on as a
// gone reader (a copy in the pattern may claim it this very scan, else its
// last record is flushed and the unread bytes counted as possibly missed);
// the file starts a new lineage from offset 0.
func (t *Tailer) recheck(r *reader, fi os.FileInfo) (truncated bool) {
	r.seen = t.gen
	prev := r.size
	r.size = fi.Size()
	if r.size == prev {
		return false
	}
	if r.size >= r.readPos && t.prefixStillMatches(r) {
		return false
	}
	t.m.truncations.Inc()
	old := *r
	old.gone, old.truncated, old.f, old.seen, old.size = true, true, nil, 0, prev
	old.changed = false // its journaled entry stands until it is retired
	old.waiting = false
	t.readers = append(t.readers, &old)
	*r = reader{path: r.path, fi: fi, f: r.f, size: fi.Size(), seen: t.gen, slot: r.slot, changed: r.changed, waiting: r.waiting, lastGrowth: time.Now()}
	t.identify(r)
	t.begin(r, 0, false)
	t.touch(r)
	return true
}

// prefixStillMatches re-reads the first bytes and grows the fingerprint.
func (t *Tailer) prefixStillMatches(r *reader) bool {
	if r.f == nil {
		if err := t.reopen(r); err != nil {
			return true // replaced: the next scan sees a different file
		}
	}
	fp, err := readPrefix(r.f, t.opts.FingerprintSize)
	if err != nil {
		t.m.errors.WithLabelValues("read").Inc()
		return true
	}
	if len(fp) < len(r.fp) || !bytes.HasPrefix(fp, r.fp) {
		return false
	}
	if len(fp) > len(r.fp) {
		r.setFP(fp)
		if r.id == "" {
			r.id = t.newID(fp)
		}
		t.touch(r)
	}
	return true
}

func readPrefix(f *os.File, n int) ([]byte, error) {
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}
