package eventlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
)

// fileSeen is what the last scan saw of a file in the drop folder.
type fileSeen struct {
	size  int64
	mtime time.Time
	hash  string // set once the file was hashed (imported or known)
}

// runFiles imports the drop folder's files until ctx ends.
func (c *Collector) runFiles(ctx context.Context) {
	st, err := loadImportState(c.set.StateDir)
	if err != nil {
		c.log.Error("drop folder import state unreadable; importing nothing", "err", err)
		c.m.success.WithLabelValues(modeFiles).Set(0)
		return
	}
	seen := map[string]fileSeen{}
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		c.scan(ctx, st, seen)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Collector) dropStatus() collectors.SourceStatus {
	s := collectors.SourceStatus{Collector: Type, Source: "drop folder", Path: c.cfg.DropDir, Status: collectors.SourceOK}
	fi, err := os.Stat(c.cfg.DropDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.Status, s.Detail = collectors.SourceMissing, "create it, or fix drop_dir"
	case err != nil:
		s.Status, s.Detail = collectors.SourceUnreadable, err.Error()
	case !fi.IsDir():
		s.Status, s.Detail = collectors.SourceUnreadable, "not a directory"
	}
	return s
}

// scan imports every file that has stopped growing and was not imported
// before (by content, whatever its name).
func (c *Collector) scan(ctx context.Context, st *importState, seen map[string]fileSeen) {
	status := c.dropStatus()
	ents, err := os.ReadDir(c.cfg.DropDir)
	if err != nil && status.OK() {
		status.Status, status.Detail = collectors.SourceUnreadable, err.Error()
	}
	c.setStatus(status)
	present := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || !IsEventFile(e.Name()) {
			continue
		}
		path := filepath.Join(c.cfg.DropDir, e.Name())
		present[path] = true
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		prev, ok := seen[path]
		now := fileSeen{size: fi.Size(), mtime: fi.ModTime()}
		if !ok || prev.size != now.size || !prev.mtime.Equal(now.mtime) {
			seen[path] = now // new or still being written: wait one poll
			continue
		}
		if prev.hash != "" {
			continue // unchanged since it was handled
		}
		hash, err := hashFile(path)
		if err != nil {
			c.log.Warn("cannot read a dropped file", "file", path, "err", err)
			continue
		}
		now.hash = hash
		if _, done := st.Imported[hash]; !done {
			if err := c.importFile(ctx, st, path, hash); err != nil {
				return // ctx ended mid-file: the acknowledged part is remembered
			}
		}
		seen[path] = now
	}
	for p := range seen {
		if !present[p] {
			delete(seen, p)
		}
	}
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// importFile ships the records of one file in batches. Each record's
// Origin is the file's content hash and its position, so the centre drops
// a batch it already has; after each acknowledged batch the position is
// saved, so an interrupted import resumes after it. It returns an error
// only when ctx ended.
func (c *Collector) importFile(ctx context.Context, st *importState, path, hash string) error {
	start := time.Now()
	skip := st.Partial[hash]
	fp := hash[:32]
	var (
		batch []event.Event
		n     int // records read so far (position of the last one)
		acked = skip
	)
	flush := func() error {
		if err := c.emit(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		acked = n
		st.Partial[hash] = acked
		if err := st.save(c.set.StateDir); err != nil {
			c.log.Warn("cannot save the drop folder's import state", "err", err)
		}
		return nil
	}
	fst, readErr := ReadFile(path, func(r Record) error {
		n++
		if n <= skip {
			return nil
		}
		if !wants(&r, c.minLevel, c.sources) {
			c.m.events.WithLabelValues(outcomeFiltered).Inc()
			return nil
		}
		ev := r.Event(c.set.Host)
		ev.Origin = event.Origin{Collector: Type, File: path, Fingerprint: fp, Offset: int64(n)}
		batch = append(batch, ev)
		if len(batch) >= c.cfg.BatchSize {
			return flush()
		}
		return nil
	})
	if ctx.Err() != nil {
		c.m.success.WithLabelValues(modeFiles).Set(0)
		return ctx.Err()
	}
	if err := flush(); err != nil {
		c.m.success.WithLabelValues(modeFiles).Set(0)
		return err
	}
	c.m.malformed.Add(float64(fst.Malformed))
	c.m.dropped.WithLabelValues(dropCorrupt).Add(float64(fst.SkippedRecords))
	done := importedFile{Name: filepath.Base(path), Records: fst.Records, Seq: st.nextSeq()}
	if readErr != nil {
		done.Failed = readErr.Error()
		c.m.files.WithLabelValues(fileFailed).Inc()
		c.m.dropped.WithLabelValues(dropBrokenFile).Inc()
		c.log.Warn("dropped file not imported whole", "file", path, "records", fst.Records, "err", readErr)
	} else {
		c.m.files.WithLabelValues(fileImported).Inc()
		c.log.Info("imported dropped file", "file", path, "format", fst.Format, "records", fst.Records,
			"shipped_from", skip, "corrupt_chunks", fst.CorruptChunks, "skipped_records", fst.SkippedRecords, "malformed", fst.Malformed)
	}
	st.Imported[hash] = done
	delete(st.Partial, hash)
	if err := st.save(c.set.StateDir); err != nil {
		c.log.Warn("cannot save the drop folder's import state", "err", err)
	}
	c.m.duration.WithLabelValues(modeFiles).Observe(time.Since(start).Seconds())
	c.m.success.WithLabelValues(modeFiles).Set(1)
	return nil
}

func sortStatuses(s []collectors.SourceStatus) {
	slices.SortFunc(s, func(a, b collectors.SourceStatus) int {
		if a.Source != b.Source {
			if a.Source < b.Source {
				return -1
			}
			return 1
		}
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
}
