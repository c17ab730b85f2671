package tail

import (
	"os"
	"path/filepath"
	"slices"
	"time"
)

// A lineage loses its file when the file is truncated (copytruncate) or
// replaced at its path while records in it were not read yet. The tailer
// then looks for the rotated copy by fingerprint: in
// Options.RotatedPatterns to read the rest of the lineage from it, and
// otherwise in the followed directories only to count what is missed and
// name the copy. Nothing is searched while the lineage is read normally.

// checkStopped settles the lineages that lost their file while the agent
// was stopped. Those found shorter than their checkpoint are in t.lost.
// After the first scan of a run (first) so are the lineages that were
// being followed when the agent stopped and whose path now holds another
// file: it was truncated or replaced while the agent was stopped, and the
// records written between the stop and the truncation are in its rotated
// copy or lost. With RotatedPatterns, lineages whose file is gone are
// looked for there too.
func (t *Tailer) checkStopped(now time.Time, first bool) {
	lost := t.lost
	t.lost = nil
	if first { // every lineage followed at the stop and not found again is settled now
		for _, cp := range t.retired.appendTo(nil) {
			if !cp.Gone && !t.unsettled(cp) && !slices.ContainsFunc(lost, func(l checkpoint) bool { return l.ID == cp.ID }) {
				lost = append(lost, cp)
			}
		}
	}
	if len(lost) == 0 {
		return
	}
	var copies, counted map[string]candidate
	if len(t.opts.RotatedPatterns) > 0 {
		copies = t.findCopies(lost, t.rotatedGlobs())
	} else {
		replaced := slices.DeleteFunc(slices.Clone(lost), func(cp checkpoint) bool { return !t.present(cp) })
		counted = t.findCopies(replaced, t.dirGlobs())
	}
	for _, cp := range lost {
		t.retired.remove(cp.ID)
		present := t.present(cp)
		if present {
			t.m.truncations.Inc()
		}
		if c, ok := copies[cp.ID]; ok {
			t.recoverFrom(cp, c, now)
			continue
		}
		cp.Gone, cp.Seen = true, now
		t.retired.add(cp)
		t.queued = append(t.queued, journalEntry{checkpoint: cp})
		if present { // else deleted while stopped, or moved where no pattern looks
			t.lostWhileStopped(cp, counted)
		}
	}
	for _, c := range counted {
		_ = c.f.Close()
	}
}

// lostWhileStopped counts and logs (once: the lineage is settled) what a
// file truncated while the agent was stopped may have lost: the bytes its
// rotated copy holds past the checkpoint when the copy is found in the
// followed directories, else the bytes known unread at the stop.
func (t *Tailer) lostWhileStopped(cp checkpoint, counted map[string]candidate) {
	if c, ok := counted[cp.ID]; ok {
		t.m.missed.Add(float64(c.fi.Size() - cp.Offset))
		t.log.Warn("a trace file was truncated or replaced while the agent was stopped; the records written to it since the stop are in its rotated copy, which no rotated pattern names: not read",
			"file", cp.Path, "copy", c.path, "missed_bytes", c.fi.Size()-cp.Offset)
		return
	}
	t.m.missed.Add(float64(max(cp.Size-cp.Offset, 0)))
	t.log.Warn("a trace file was truncated or replaced while the agent was stopped; records written to it after the stop are lost unless a rotated pattern names where its rotated copy goes",
		"file", cp.Path, "read_up_to", cp.Offset, "known_unread_bytes", max(cp.Size-cp.Offset, 0))
}

// present reports whether another file is at the lineage's path: one being
// followed (it did not claim the lineage), or one shorter than the
// lineage's offset (an empty file is not followed yet).
func (t *Tailer) present(cp checkpoint) bool {
	if t.byPath[cp.Path] != nil {
		return true
	}
	fi, err := os.Stat(cp.Path)
	return err == nil && fi.Size() < cp.Offset
}

// unsettled reports a lineage whose path holds a file that is not followed
// yet but may still be it (it could not be opened this scan): it is left
// for that file to claim.
func (t *Tailer) unsettled(cp checkpoint) bool {
	if t.byPath[cp.Path] != nil {
		return false
	}
	fi, err := os.Stat(cp.Path)
	return err == nil && fi.Size() >= cp.Offset
}

// recoverFrom drains a lost lineage from its rotated copy, from the
// lineage's checkpoint on: the copy is a gone reader, retired once read.
func (t *Tailer) recoverFrom(cp checkpoint, c candidate, now time.Time) {
	t.slots++
	r := &reader{id: cp.ID, name: cp.Path, path: c.path, fi: c.fi, f: c.f, size: c.fi.Size(), gone: true, seen: t.gen, slot: t.slots, lastGrowth: now}
	r.setFP(c.fp)
	t.readers = append(t.readers, r)
	t.begin(r, cp.Offset, false)
	t.touch(r)
	t.log.Info("reading the records a truncated trace file lost from its rotated copy",
		"file", cp.Path, "copy", c.path, "from", cp.Offset, "bytes", c.fi.Size()-cp.Offset)
}

// recoverRunning gives a lineage truncated while it was read, with bytes
// not read yet, its rotated copy to drain (RotatedPatterns only).
func (t *Tailer) recoverRunning(r *reader) {
	r.searched = true
	cp := r.checkpoint(time.Now())
	c, ok := t.findCopies([]checkpoint{cp}, t.rotatedGlobs())[cp.ID]
	if !ok || c.fi.Size() <= r.readPos {
		if ok {
			_ = c.f.Close()
		}
		return
	}
	r.f, r.fi, r.path, r.size, r.truncated = c.f, c.fi, c.path, c.fi.Size(), false
	r.setFP(c.fp)
	t.touch(r)
	t.log.Info("reading the rest of a truncated trace file from its rotated copy", "copy", c.path, "from", r.readPos)
}

// findCopies opens, for each lost lineage, a file matching globs whose
// first bytes are the lineage's fingerprint and that holds more than was
// read (the largest such file); files being followed are skipped.
func (t *Tailer) findCopies(lost []checkpoint, globs []string) map[string]candidate {
	if len(lost) == 0 {
		return nil
	}
	want := newRetiredSet(nil)
	for _, cp := range lost {
		want.add(cp)
	}
	offset := make(map[string]int64, len(lost))
	for _, cp := range lost {
		offset[cp.ID] = cp.Offset
	}
	found := map[string]candidate{}
	var paths []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			t.m.errors.WithLabelValues("scan").Inc()
			continue
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	for _, p := range slices.Compact(paths) {
		if t.byPath[p] != nil || slices.ContainsFunc(t.readers, func(r *reader) bool { return r.path == p }) {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		f, err := openShared(p)
		if err != nil {
			t.m.errors.WithLabelValues("open").Inc()
			continue
		}
		fp, err := readPrefix(f, t.opts.FingerprintSize)
		cp, ok := checkpoint{}, false
		if err == nil {
			cp, ok = want.peek(fp)
		}
		if !ok || fi.Size() <= offset[cp.ID] || found[cp.ID].fi != nil && found[cp.ID].fi.Size() >= fi.Size() {
			_ = f.Close()
			continue
		}
		if old, had := found[cp.ID]; had {
			_ = old.f.Close()
		}
		found[cp.ID] = candidate{path: p, fi: fi, f: f, fp: fp}
	}
	return found
}

// rotatedGlobs resolves Options.RotatedPatterns: relative patterns are
// looked for in every followed directory.
func (t *Tailer) rotatedGlobs() []string {
	var out []string
	for _, p := range t.opts.RotatedPatterns {
		if filepath.IsAbs(p) {
			out = append(out, p)
			continue
		}
		for _, d := range t.opts.Dirs {
			out = append(out, filepath.Join(d, p))
		}
	}
	return out
}

// dirGlobs is every file of the followed directories.
func (t *Tailer) dirGlobs() []string {
	out := make([]string, 0, len(t.opts.Dirs))
	for _, d := range t.opts.Dirs {
		out = append(out, filepath.Join(d, "*"))
	}
	return out
}
