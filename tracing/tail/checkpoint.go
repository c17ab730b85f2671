package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// stateFile is the checkpoint file's name inside Options.StateDir.
const stateFile = "tail-checkpoints.json"

const stateVersion = 1

// checkpoint is what survives a restart for one file lineage: its identity,
// a hash of its first FPLen bytes (to recognise it under any name) and the
// offset before which every record was accepted by the handler.
type checkpoint struct {
	ID     string    `json:"id"`
	Path   string    `json:"path"`
	FPLen  int       `json:"fp_len"`
	FPHash string    `json:"fp_hash"`
	Offset int64     `json:"offset"`
	Seen   time.Time `json:"seen"`
}

type state struct {
	Version int          `json:"version"`
	Files   []checkpoint `json:"files"`
}

func hashFP(fp []byte) string {
	sum := sha256.Sum256(fp)
	return hex.EncodeToString(sum[:])
}

// loadState reads the checkpoint file; found is false when none exists yet.
func loadState(dir string) (cps []checkpoint, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("tail: read checkpoints: %w", err)
	}
	cps, err = parseState(b)
	if err != nil {
		return nil, true, fmt.Errorf("tail: checkpoints %s: %w (fix or delete the file; deleting it re-reads files from their start)", filepath.Join(dir, stateFile), err)
	}
	return cps, true, nil
}

// parseState decodes and checks a checkpoint file, reporting every bad entry.
func parseState(b []byte) ([]checkpoint, error) {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", s.Version, stateVersion)
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
		return nil, err
	}
	return s.Files, nil
}

func (cp checkpoint) check() error {
	var errs []error
	if _, err := hex.DecodeString(cp.ID); err != nil || cp.ID == "" {
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
	return errors.Join(errs...)
}

// save writes the checkpoints atomically (temp file, rename), so a crash
// leaves the old or the new file, never a mix. The rename alone survives a
// process crash; the fsync of file and directory, which makes it survive a
// power loss and costs milliseconds, runs at most every CheckpointSync.
func (t *Tailer) save() error {
	if t.opts.StateDir == "" {
		t.dirty = false
		return nil
	}
	now := time.Now()
	s := state{Version: stateVersion, Files: make([]checkpoint, 0, len(t.readers)+len(t.retired))}
	for _, r := range t.readers {
		if r.id != "" && len(r.fp) > 0 && !r.truncated {
			s.Files = append(s.Files, r.checkpoint(now))
		}
	}
	s.Files = append(s.Files, t.retired...)
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("tail: encode checkpoints: %w", err)
	}
	now = time.Now()
	sync := now.Sub(t.synced) >= t.opts.CheckpointSync
	if err := writeAtomic(t.opts.StateDir, stateFile, b, sync); err != nil {
		t.m.errors.WithLabelValues("checkpoint").Inc()
		return fmt.Errorf("tail: save checkpoints in %s: %w", t.opts.StateDir, err)
	}
	if sync {
		t.synced = now
	}
	t.dirty = false
	return nil
}

func writeAtomic(dir, name string, b []byte, sync bool) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return err
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			_ = tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	if !sync || runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there; NTFS journals the rename
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
