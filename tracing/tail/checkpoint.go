package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The checkpoint state lives in Options.StateDir as a snapshot
// (stateFile) and an append-only journal of the entries changed since it
// (journalFile with the snapshot's generation); see store.
const (
	stateFile = "tail-checkpoints.json"
	// stateVersion 2 adds the journal generation; version 1 files (a
	// snapshot rewritten on every batch) are still read.
	stateVersion = 2
)

// checkpoint is what survives a restart for one file lineage: its identity,
// a hash of its first FPLen bytes (to recognise it under any name) and the
// offset before which every record was accepted by the handler.
type checkpoint struct {
	ID     string `json:"id"`
	Path   string `json:"path"`
	FPLen  int    `json:"fp_len"`
	FPHash string `json:"fp_hash"`
	Offset int64  `json:"offset"`
	// Size is the file size last seen with this offset: at a restart,
	// Size-Offset bytes were known and not yet read.
	Size int64     `json:"size,omitempty"`
	Seen time.Time `json:"seen"`
	// Gone marks a lineage whose file had left the pattern and was drained
	// (kept so the file is not read again if it comes back). Entries
	// without it were being followed when the agent stopped.
	Gone bool `json:"gone,omitempty"`
}

type state struct {
	Version int `json:"version"`
	// Journal is the generation of the journal that continues this
	// snapshot.
	Journal uint64       `json:"journal,omitempty"`
	Files   []checkpoint `json:"files"`
}

// journalEntry is one journal line: a checkpoint that changed, or Del for
// a lineage forgotten.
type journalEntry struct {
	checkpoint
	Del bool `json:"del,omitempty"`
}

func hashFP(fp []byte) string {
	sum := sha256.Sum256(fp)
	return hex.EncodeToString(sum[:])
}

// parseState decodes and checks a snapshot, reporting every bad entry.
func parseState(b []byte) (state, error) {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, fmt.Errorf("decode: %w", err)
	}
	if s.Version != 1 && s.Version != stateVersion {
		return state{}, fmt.Errorf("version %d, want 1 or %d", s.Version, stateVersion)
	}
	var errs []error
	seen := make(map[string]bool, len(s.Files))
	for i, cp := range s.Files {
		if err := cp.check(); err != nil {
			errs = append(errs, fmt.Errorf("file %d (%q): %w", i, cp.Path, err))
			continue
		}
		if seen[cp.ID] {
			errs = append(errs, fmt.Errorf("file %d (%q): id %s listed twice", i, cp.Path, cp.ID))
		}
		seen[cp.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return state{}, err
	}
	return s, nil
}

// parseEntry decodes and checks one journal line.
func parseEntry(line []byte) (journalEntry, error) {
	var e journalEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return e, fmt.Errorf("decode: %w", err)
	}
	if e.Del {
		if !isHex(e.ID) {
			return e, fmt.Errorf("id %q is not hex", e.ID)
		}
		return e, nil
	}
	return e, e.check()
}

func (cp checkpoint) check() error {
	var errs []error
	if !isHex(cp.ID) {
		errs = append(errs, fmt.Errorf("id %q is not hex", cp.ID))
	}
	if b, err := hex.DecodeString(cp.FPHash); err != nil || len(b) != sha256.Size {
		errs = append(errs, fmt.Errorf("fp_hash %q is not a hex SHA-256", cp.FPHash))
	}
	if cp.FPLen <= 0 || cp.FPLen > 1<<20 {
		errs = append(errs, fmt.Errorf("fp_len %d out of range 1..1048576", cp.FPLen))
	}
	if cp.Offset < 0 {
		errs = append(errs, fmt.Errorf("offset %d is negative", cp.Offset))
	}
	if cp.Size < 0 {
		errs = append(errs, fmt.Errorf("size %d is negative", cp.Size))
	}
	return errors.Join(errs...)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != ""
}

// touch queues r's checkpoint for the next save.
func (t *Tailer) touch(r *reader) {
	if !r.changed {
		r.changed = true
		t.changed = append(t.changed, r)
	}
}

// save journals the checkpoints that changed since the last save: one
// write whatever the number of files. The fsync, which makes it survive a
// power loss and costs milliseconds, runs at most every CheckpointSync; a
// process crash loses nothing that was written.
func (t *Tailer) save() error {
	if t.store == nil {
		t.clearChanges()
		return nil
	}
	now := time.Now()
	if t.broken {
		return t.compact(now)
	}
	if len(t.changed) == 0 && len(t.queued) == 0 {
		return nil
	}
	buf := t.jbuf[:0]
	var err error
	for _, r := range t.changed {
		if r.id != "" && len(r.fp) > 0 {
			if buf, err = encodeEntry(buf, journalEntry{checkpoint: r.checkpoint(now)}); err != nil {
				return t.saveFailed(err)
			}
		}
	}
	for _, e := range t.queued {
		if buf, err = encodeEntry(buf, e); err != nil {
			return t.saveFailed(err)
		}
	}
	t.jbuf = buf
	sync := now.Sub(t.synced) >= t.opts.CheckpointSync
	if len(buf) > 0 {
		if err := t.store.append(buf, sync); err != nil {
			t.broken = true // a cut line may be in the journal: start a new one
			return t.saveFailed(err)
		}
	}
	t.clearChanges()
	if sync {
		t.synced = now
	}
	if t.store.due() {
		return t.compact(now)
	}
	return nil
}

// compact folds everything into a new snapshot (and an empty journal).
func (t *Tailer) compact(now time.Time) error {
	if err := t.store.compact(t.allCheckpoints(now)); err != nil {
		t.broken = true
		return t.saveFailed(err)
	}
	t.broken = false
	t.clearChanges()
	t.synced = now
	return nil
}

func (t *Tailer) saveFailed(err error) error {
	t.m.errors.WithLabelValues("checkpoint").Inc()
	return fmt.Errorf("tail: save checkpoints in %s: %w", t.opts.StateDir, err)
}

func (t *Tailer) clearChanges() {
	for _, r := range t.changed {
		r.changed = false
	}
	t.changed, t.queued = t.changed[:0], t.queued[:0]
}

// allCheckpoints is the whole state: the lineages being read, then the
// retired ones (an id is listed once).
func (t *Tailer) allCheckpoints(now time.Time) []checkpoint {
	cps := make([]checkpoint, 0, len(t.readers)+t.retired.len())
	live := make(map[string]bool, len(t.readers))
	for _, r := range t.readers {
		if r.id != "" && len(r.fp) > 0 && !live[r.id] {
			live[r.id] = true
			cps = append(cps, r.checkpoint(now))
		}
	}
	for _, cp := range t.retired.appendTo(nil) {
		if !live[cp.ID] {
			cps = append(cps, cp)
		}
	}
	return cps
}
