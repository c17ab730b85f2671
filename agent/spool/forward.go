package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"crmwatch/event"
	"crmwatch/transport"
)

const cursorFile = "cursor"

// readCursor returns the segment and offset of the next record to send as
// an earlier run saved them (0, 0 when none).
func (s *Spool) readCursor() (uint64, int64) {
	data, err := os.ReadFile(filepath.Join(s.o.Dir, cursorFile))
	if err != nil {
		return 0, 0
	}
	var seg uint64
	var off int64
	if _, err := fmt.Sscanf(string(data), "%d %d", &seg, &off); err != nil {
		return 0, 0
	}
	return seg, off
}

// saveCursor records where sending continues, written atomically.
func (s *Spool) saveCursor() error {
	path := filepath.Join(s.o.Dir, cursorFile)
	tmp := path + ".new"
	data := fmt.Appendf(nil, "%d %d\n", s.segs[0].id, s.readOff)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	s.savedAt = time.Now()
	return os.Rename(tmp, path)
}

// Run sends the spooled batches in order to the next sink until ctx ends;
// a batch leaves the spool only once the sink accepted it.
func (s *Spool) Run(ctx context.Context) error {
	defer s.flushCursor()
	backoff := 200 * time.Millisecond
	for {
		b, size, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}
		if err := s.o.Next.Emit(ctx, b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("spool: the sink refused a batch; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 15*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		s.m.sent.Add(float64(b.Len()))
		if err := s.advance(size); err != nil {
			return err
		}
	}
}

// next reads the record at the cursor; ok is false when everything written
// was sent. A damaged record ends its segment (counted).
func (s *Spool) next() (event.Batch, int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		g := s.segs[0]
		if s.readOff >= g.size {
			if len(s.segs) == 1 {
				return event.Batch{}, 0, false, nil // caught up with the writer
			}
			if err := s.dropFirst(); err != nil {
				return event.Batch{}, 0, false, err
			}
			continue
		}
		h, payload, err := s.readAt(g, s.readOff)
		if err == nil {
			var b event.Batch
			if b, err = transport.DecodeBinaryBatch(payload); err == nil {
				return b, headerBytes + int64(h.length), true, nil
			}
		}
		s.m.corrupt.Inc()
		s.log.Warn("spool: damaged record; the rest of its segment is skipped", "segment", g.id, "offset", s.readOff, "err", err)
		s.total -= g.size - s.readOff
		g.size = s.readOff
	}
}

// readAt reads the record at off in g through a handle kept open while g is
// the segment being sent: one open per segment, not per record (the agent's
// CPU at a steady 1,000 events/s, docs/performance.md).
func (s *Spool) readAt(g *segment, off int64) (recordHeader, []byte, error) {
	if s.r == nil || s.rID != g.id {
		s.closeReader()
		f, err := os.Open(s.segPath(g.id))
		if err != nil {
			return recordHeader{}, nil, err
		}
		s.r, s.rID = f, g.id
	}
	h, payload, err := readRecord(io.NewSectionReader(s.r, off, g.size-off))
	if errors.Is(err, io.EOF) {
		err = errCorrupt
	}
	return h, payload, err
}

// closeReader drops the read handle (its segment is deleted or replaced).
func (s *Spool) closeReader() {
	if s.r != nil {
		_ = s.r.Close()
		s.r = nil
	}
}

// cursorEvery is how often the read position is saved while sending: a
// crash re-sends what was sent since, and the publisher's message ids
// (a hash of the content) let JetStream store it once — its duplicate
// window is minutes, this is a second.
const cursorEvery = time.Second

// advance moves the cursor past a sent record of size bytes.
func (s *Spool) advance(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOff += size
	if s.readOff >= s.segs[0].size && len(s.segs) > 1 {
		return s.dropFirst()
	}
	if time.Since(s.savedAt) < cursorEvery {
		return nil
	}
	return s.saveCursor()
}

// flushCursor saves the read position (Run ends).
func (s *Spool) flushCursor() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.saveCursor(); err != nil {
		s.log.Warn("spool: could not save the read position; the next start re-sends from the last saved one", "err", err)
	}
}

// dropFirst deletes the first segment, all of it sent.
func (s *Spool) dropFirst() error {
	g := s.segs[0]
	s.closeReader()
	s.segs = s.segs[1:]
	s.total -= g.size
	s.readOff = 0
	if err := s.saveCursor(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(s.segPath(g.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
