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
	var fresh []candidate
	for _, p := range t.glob() {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // vanished between glob and stat, or not a file
		}
		if r := t.byPath[p]; r != nil && !r.gone && r.fi != nil && os.SameFile(r.fi, fi) {
			t.recheck(r, fi)
			continue
		}
		fresh = append(fresh, candidate{path: p, fi: fi})
	}
	t.adoptAll(fresh, now)
	for _, r := range t.readers {
		if r.seen != t.gen && !r.gone {
			r.gone = true // deleted or moved out of the pattern: drain, then retire
			delete(t.byPath, r.path)
		}
	}
	t.m.filesWatched.Set(float64(len(t.readers)))
	for _, r := range slices.Clone(t.readers) {
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

type candidate struct {
	path string
	fi   os.FileInfo
	f    *os.File
	fp   []byte
}

func (t *Tailer) glob() []string {
	var out []string
	for _, d := range t.opts.Dirs {
		m, err := filepath.Glob(filepath.Join(d, t.opts.Pattern))
		if err != nil {
			t.m.errors.WithLabelValues("scan").Inc()
			continue
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// recheck looks at a known file found again: a size below the read
// position, or first bytes that changed, mean it was truncated
// (copytruncate) or rewritten in place. The old lineage then lives on as a
// gone reader (a copy in the pattern may claim it this very scan, else its
// last record is flushed and the unread bytes counted as possibly missed);
// the file starts a new lineage from offset 0.
func (t *Tailer) recheck(r *reader, fi os.FileInfo) {
	r.seen = t.gen
	prev := r.size
	r.size = fi.Size()
	if r.size == prev {
		return
	}
	if r.size >= r.readPos && t.prefixStillMatches(r) {
		return
	}
	t.m.truncations.Inc()
	old := *r
	old.gone, old.truncated, old.f, old.seen, old.size = true, true, nil, 0, prev
	t.readers = append(t.readers, &old)
	*r = reader{path: r.path, fi: fi, f: r.f, size: fi.Size(), seen: t.gen, lastGrowth: time.Now()}
	t.identify(r)
	t.begin(r, 0, false)
	t.touch(r)
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
