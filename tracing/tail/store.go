package tail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"unicode/utf8"
)

// minCompactBytes is the journal size below which it is never compacted;
// above it, it is compacted once it outgrows twice the snapshot.
const minCompactBytes = 256 << 10

// store persists checkpoints incrementally: a batch appends one line per
// changed lineage to the journal (one write, a few hundred bytes, whatever
// the number of files), and the journal is folded into a new snapshot only
// when it has grown past twice the snapshot.
//
// Crash safety: a journal line is written with one write call, so a
// process crash leaves it whole or absent; a torn last line (power loss)
// is ignored at load, which only moves that lineage back to its previous
// offset (records re-sent, never lost). Compaction writes the snapshot
// with the next generation atomically (temp file, fsync, rename) before
// the old journal is removed; a journal whose generation the snapshot does
// not name is stale and ignored, so a crash between the two steps cannot
// replay old offsets over new ones.
type store struct {
	dir       string
	gen       uint64   // generation of the snapshot and its journal
	j         *os.File // the journal, opened at the first append
	jBytes    int64
	snapBytes int64
	dirSync   bool // the journal file was created and its directory not yet synced
}

func journalName(gen uint64) string {
	return "tail-checkpoints." + strconv.FormatUint(gen, 10) + ".journal"
}

// openStore loads the snapshot and replays its journal. found is false when
// neither exists (a first run). torn reports a last journal line that was
// cut off; the caller compacts so the next append does not follow it.
func openStore(dir string) (s *store, cps []checkpoint, found, torn bool, err error) {
	s = &store{dir: dir}
	snap := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(snap)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, false, false, fmt.Errorf("tail: read checkpoints: %w", err)
	default:
		st, err := parseState(b)
		if err != nil {
			return nil, nil, true, false, fmt.Errorf("tail: checkpoints %s: %w (fix or delete the file; deleting it re-reads files from their start)", snap, err)
		}
		s.gen, s.snapBytes, cps, found = st.Journal, int64(len(b)), st.Files, true
	}
	jpath := filepath.Join(dir, journalName(s.gen))
	jb, err := os.ReadFile(jpath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, false, false, fmt.Errorf("tail: read checkpoint journal: %w", err)
	default:
		found = true
		s.jBytes = int64(len(jb))
		if cps, torn, err = replay(cps, jb); err != nil {
			return nil, nil, true, false, fmt.Errorf("tail: checkpoint journal %s: %w (fix or delete it; deleting it re-reads what was read since the last snapshot)", jpath, err)
		}
	}
	s.removeStale()
	return s, cps, found, torn, nil
}

// replay applies journal lines to the snapshot's checkpoints in order. Every
// bad line but the last is reported; a bad or unterminated last line is a
// write cut short and is dropped.
func replay(cps []checkpoint, b []byte) ([]checkpoint, bool, error) {
	at := make(map[string]int, len(cps))
	for i, cp := range cps {
		at[cp.ID] = i
	}
	var errs []error
	torn := false
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte{'\n'})
		b = rest
		e, err := parseEntry(line)
		if err != nil || !complete {
			if len(b) == 0 {
				torn = true
				break
			}
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		i, ok := at[e.ID]
		switch {
		case e.Del && ok:
			last := len(cps) - 1
			cps[i] = cps[last]
			at[cps[i].ID] = i
			cps = cps[:last]
			delete(at, e.ID)
		case e.Del:
		case ok:
			cps[i] = e.checkpoint
		default:
			at[e.ID] = len(cps)
			cps = append(cps, e.checkpoint)
		}
	}
	return cps, torn, errors.Join(errs...)
}

// removeStale deletes journals of other generations and temporary files a
// crash left behind (best effort).
func (s *store) removeStale() {
	keep := journalName(s.gen)
	for _, pat := range []string{"tail-checkpoints.*.journal", stateFile + ".tmp*"} {
		old, _ := filepath.Glob(filepath.Join(s.dir, pat))
		for _, p := range old {
			if filepath.Base(p) != keep {
				_ = os.Remove(p)
			}
		}
	}
}

// append writes lines (each ending in '\n') to the journal in one write;
// with sync the journal (and its directory, once after creation) is
// fsynced so the lines survive a power loss too.
func (s *store) append(lines []byte, sync bool) error {
	if s.j == nil {
		if err := os.MkdirAll(s.dir, 0o750); err != nil {
			return err
		}
		p := filepath.Join(s.dir, journalName(s.gen))
		_, statErr := os.Stat(p)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		s.j, s.dirSync = f, s.dirSync || statErr != nil
	}
	n, err := s.j.Write(lines)
	s.jBytes += int64(n)
	if err != nil {
		return err
	}
	if sync {
		return s.sync()
	}
	return nil
}

func (s *store) sync() error {
	if s.j == nil {
		return nil
	}
	if err := s.j.Sync(); err != nil {
		return err
	}
	if s.dirSync {
		if err := syncDir(s.dir); err != nil {
			return err
		}
		s.dirSync = false
	}
	return nil
}

// due reports whether the journal has outgrown its snapshot.
func (s *store) due() bool { return s.jBytes > max(minCompactBytes, 2*s.snapBytes) }

// compact writes every checkpoint to a new snapshot of the next generation
// and drops the journal it replaces.
func (s *store) compact(cps []checkpoint) error {
	b, err := json.Marshal(state{Version: stateVersion, Journal: s.gen + 1, Files: cps})
	if err != nil {
		return fmt.Errorf("encode checkpoints: %w", err)
	}
	if err := writeAtomic(s.dir, stateFile, b); err != nil {
		return err
	}
	old := filepath.Join(s.dir, journalName(s.gen))
	s.close()
	s.gen++
	s.snapBytes, s.jBytes = int64(len(b)), 0
	if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // harmless: a journal the snapshot does not name is ignored
	}
	return nil
}

func (s *store) close() {
	if s.j != nil {
		_ = s.j.Close()
		s.j = nil
	}
}

// writeAtomic replaces dir/name with b durably: temp file, fsync, rename,
// directory fsync. A crash leaves the old or the new file, never a mix.
func writeAtomic(dir, name string, b []byte) error {
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
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there; NTFS journals the rename
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// encodeEntry appends e as one journal line: the JSON json.Marshal would
// write, without reflection (one line per batch is the hot path of a
// checkpoint). Control characters in strings are escaped, so a line is
// always one entry.
func encodeEntry(buf []byte, e journalEntry) ([]byte, error) {
	buf = append(buf, `{"id":`...)
	buf = appendJSONString(buf, e.ID)
	buf = append(buf, `,"path":`...)
	buf = appendJSONString(buf, e.Path)
	buf = append(buf, `,"fp_len":`...)
	buf = strconv.AppendInt(buf, int64(e.FPLen), 10)
	buf = append(buf, `,"fp_hash":`...)
	buf = appendJSONString(buf, e.FPHash)
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendInt(buf, e.Offset, 10)
	if e.Size != 0 {
		buf = append(buf, `,"size":`...)
		buf = strconv.AppendInt(buf, e.Size, 10)
	}
	buf = append(buf, `,"seen":`...)
	ts, err := e.Seen.MarshalJSON()
	if err != nil {
		return buf, err
	}
	buf = append(buf, ts...)
	if e.Gone {
		buf = append(buf, `,"gone":true`...)
	}
	if e.Del {
		buf = append(buf, `,"del":true`...)
	}
	return append(buf, '}', '\n'), nil
}

func appendJSONString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		case c < utf8.RuneSelf:
			buf = append(buf, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(buf, '"')
}
