package spool

import (
	"bufio"
	"fmt"
	"os"

	"crmwatch/event"
	"crmwatch/transport"
)

// evictable are the level slots dropped to make room, in order; error and
// critical are never dropped.
var evictable = []int{0, 1, 2} // verbose (and unknown), info, warning

// makeRoom drops stored events of the least severe levels, oldest
// segments first, until need more bytes fit. The segment being sent from
// and the one being written are left alone. Called with s.mu held.
func (s *Spool) makeRoom(need int64) {
	for _, slot := range evictable {
		for i := 1; i < len(s.segs)-1 && s.total+need > s.o.MaxBytes; i++ {
			g := s.segs[i]
			if g.levels[slot] == 0 {
				continue
			}
			if err := s.rewrite(g, slot); err != nil {
				s.log.Warn("spool: could not drop low-level events from a segment", "segment", g.id, "err", err)
			}
		}
		if s.total+need <= s.o.MaxBytes {
			return
		}
	}
}

// rewrite writes segment g again without the events of level slots up to
// and including upTo, counting them as dropped.
func (s *Spool) rewrite(g *segment, upTo int) error {
	path := s.segPath(g.id)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var size int64
	var levels [levelSlots]int64
	var dropped [levelSlots]int64
	var werr error
	_, err = scanSegment(path, func(h recordHeader, payload []byte) {
		if werr != nil {
			return
		}
		keep := h.levels
		drop := false
		for i := 0; i <= upTo; i++ {
			drop = drop || h.levels[i] > 0
		}
		rec := []byte(nil)
		if !drop {
			rec = make([]byte, 0, headerBytes+len(payload))
			rec, _ = encodeRaw(rec, h, payload)
		} else {
			b, derr := transport.DecodeBinaryBatch(payload)
			if derr != nil {
				return // damaged: dropped with the segment's rest
			}
			kept := b.Events[:0]
			for _, ev := range b.Events {
				if slot := levelSlot(ev.Level); slot <= upTo {
					dropped[slot]++
					continue
				}
				kept = append(kept, ev)
			}
			if len(kept) == 0 && len(b.Samples) == 0 {
				return
			}
			rec, keep = encodeRecord(event.Batch{Host: b.Host, Events: kept, Samples: b.Samples})
		}
		if _, werr = w.Write(rec); werr != nil {
			return
		}
		size += int64(len(rec))
		for i := range levels {
			levels[i] += keep[i]
		}
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		s.closeReader() // it reads the file being replaced
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	s.total += size - g.size
	g.size, g.levels = size, levels
	for i, n := range dropped {
		if n > 0 {
			s.m.dropped.WithLabelValues(slotName(i)).Add(float64(n))
		}
	}
	return nil
}

// encodeRaw appends a record whose header is known (unchanged).
func encodeRaw(dst []byte, h recordHeader, payload []byte) ([]byte, [levelSlots]int64) {
	dst = dst[:headerBytes]
	putHeader(dst, h)
	return append(dst, payload...), h.levels
}
