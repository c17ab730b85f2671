// Package spool is the agent's bounded disk spool for observations that
// cannot be read again (SNMP traps, live events without a bookmark). Emit
// appends a batch to a segment file in the agent's state directory and
// returns; Run sends the batches, oldest first, to the next sink (the
// transport publisher) and forgets each only after that sink accepted it,
// so nothing waits in memory while the centre is unreachable and nothing is
// lost across an agent restart.
//
// The spool holds at most MaxBytes. When a batch does not fit, it drops
// stored events of the least severe levels first — verbose, then info,
// then warning — from the oldest segments, and counts every drop by level;
// error and critical events are never dropped: they are written beyond
// MaxBytes (up to twice it, then Emit refuses and the collector retries).
package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crmwatch/collectors"
	"crmwatch/event"
)

// Defaults.
const (
	DefaultMaxBytes     = 256 << 20
	DefaultSegmentBytes = 4 << 20
)

// Options configure a spool.
type Options struct {
	// Dir holds the segment files and the read cursor (created).
	Dir string
	// MaxBytes bounds the spool on disk (default DefaultMaxBytes).
	MaxBytes int64
	// SegmentBytes is the size at which a segment is sealed and a new one
	// started (default DefaultSegmentBytes; at most MaxBytes/4).
	SegmentBytes int64
	// Next receives the batches in order (the transport publisher).
	Next       collectors.Sink
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// ErrFull is returned by Emit when even error and critical events no longer
// fit (twice MaxBytes on disk): the caller keeps its batch and retries.
var ErrFull = errors.New("spool full of error and critical events; the centre has been unreachable for long")

// Spool is a bounded, ordered, disk-backed queue of batches.
type Spool struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is being written
	w       *os.File   // the last segment
	total   int64      // bytes on disk in segs
	readOff int64      // next record to send, in segs[0]
	savedAt time.Time  // when the cursor was last saved
	r       *os.File   // segs[0] open for reading (nil: open on the next read)
	rID     uint64     // the segment r reads
	wake    chan struct{}
}

type segment struct {
	id     uint64
	size   int64
	levels [levelSlots]int64 // events per level, for eviction
}

func (s *Spool) segPath(id uint64) string {
	return filepath.Join(s.o.Dir, fmt.Sprintf("%020d.seg", id))
}

// Open opens (or creates) the spool in o.Dir, keeping what an earlier run
// left unsent; a record cut by a crash ends its segment.
func Open(o Options) (*Spool, error) {
	if o.Next == nil {
		return nil, errors.New("spool: Next sink is required")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = max(min(o.SegmentBytes, o.MaxBytes/4), 4<<10)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{o: o, log: o.Logger.With("component", "spool"), wake: make(chan struct{}, 1)}
	var err error
	if s.m, err = newMetrics(o.Registerer, s.bytes); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	if err := s.startSegment(); err != nil {
		return nil, err
	}
	if pending := s.total; pending > 0 {
		s.log.Info("spool holds batches from an earlier run; sending them first", "bytes", pending, "segments", len(s.segs)-1)
	}
	return s, nil
}

// recover reads the segments and the cursor an earlier run left.
func (s *Spool) recover() error {
	ents, err := os.ReadDir(s.o.Dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var ids []uint64
	for _, e := range ents {
		name := e.Name()
		if id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64); err == nil && strings.HasSuffix(name, ".seg") {
			ids = append(ids, id)
		} else if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(s.o.Dir, name)) // an eviction cut short
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	curSeg, curOff := s.readCursor()
	for _, id := range ids {
		if id < curSeg {
			_ = os.Remove(s.segPath(id)) // sent before the stop
			continue
		}
		seg := &segment{id: id}
		valid, err := scanSegment(s.segPath(id), func(h recordHeader, _ []byte) { seg.add(h.levels, 1) })
		if err != nil {
			return err
		}
		if fi, err := os.Stat(s.segPath(id)); err == nil && fi.Size() > valid {
			s.log.Warn("spool segment ends in a cut record (the agent stopped while writing it); it is dropped", "segment", id, "bytes", fi.Size()-valid)
			s.m.corrupt.Inc()
			_ = os.Truncate(s.segPath(id), valid)
		}
		seg.size = valid
		s.segs = append(s.segs, seg)
		s.total += valid
	}
	if len(s.segs) > 0 && s.segs[0].id == curSeg && curOff <= s.segs[0].size {
		s.readOff = curOff
	}
	return nil
}

// startSegment opens a new segment for writing after the last one.
func (s *Spool) startSegment() error {
	id := uint64(1)
	if n := len(s.segs); n > 0 {
		id = s.segs[n-1].id + 1
	}
	f, err := os.OpenFile(s.segPath(id), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.w = f
	s.segs = append(s.segs, &segment{id: id})
	return nil
}

func (s *Spool) bytes() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(s.total)
}

// Close syncs and closes the segment being written; what is unsent stays
// for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	s.closeReader()
	err := errors.Join(s.w.Sync(), s.w.Close())
	s.w = nil
	return err
}

// Emit writes b to the spool (events and samples as separate records) and
// returns once it is on disk (the operating system's cache: an agent crash
// loses nothing, a power cut the last moments).
func (s *Spool) Emit(_ context.Context, b event.Batch) error {
	if len(b.Events) > 0 {
		if err := s.append(event.Batch{Host: b.Host, Events: b.Events}); err != nil {
			return err
		}
	}
	if len(b.Samples) > 0 {
		return s.append(event.Batch{Host: b.Host, Samples: b.Samples})
	}
	return nil
}

func (s *Spool) append(b event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return errors.New("spool: closed")
	}
	rec, levels := encodeRecord(b)
	if s.total+int64(len(rec)) > s.o.MaxBytes {
		s.makeRoom(int64(len(rec)))
	}
	if s.total+int64(len(rec)) > s.o.MaxBytes {
		// Nothing stored is left to drop: keep only what is never dropped.
		kept := b.Events[:0:0]
		for _, ev := range b.Events {
			if ev.Level >= event.LevelError {
				kept = append(kept, ev)
			} else {
				s.m.dropped.WithLabelValues(slotName(levelSlot(ev.Level))).Inc()
			}
		}
		if len(kept) == 0 && len(b.Samples) > 0 {
			for range b.Samples {
				s.m.droppedSamples.Inc()
			}
			return nil
		}
		if len(kept) == 0 {
			return nil
		}
		rec, levels = encodeRecord(event.Batch{Host: b.Host, Events: kept})
		if s.total+int64(len(rec)) > 2*s.o.MaxBytes {
			s.m.refused.Inc()
			return ErrFull
		}
	}
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("spool: write: %w", err)
	}
	last := s.segs[len(s.segs)-1]
	last.size += int64(len(rec))
	last.add(levels, 1)
	s.total += int64(len(rec))
	s.m.written.Add(float64(b.Len()))
	if last.size >= s.o.SegmentBytes {
		if err := s.w.Close(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := s.startSegment(); err != nil {
			s.w = nil
			return err
		}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (g *segment) add(levels [levelSlots]int64, sign int64) {
	for i, n := range levels {
		g.levels[i] += sign * n
	}
}
