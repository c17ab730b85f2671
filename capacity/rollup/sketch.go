package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sketch is a mergeable quantile sketch with a relative error bound (the
// DDSketch idea): a value v > 0 falls in bin ceil(log_γ v) with γ =
// (1+α)/(1-α), so any quantile read back is within α of a value of the
// right rank. Sketches of two minutes merge into the sketch of both, which
// is what makes an hour's p95 exact up to α from its minutes' sketches
// rather than an average of their p95s.
type Sketch struct {
	zero uint64 // values in [-minValue, minValue]
	pos  bins   // bins of positive values
	neg  bins   // bins of negative values (by magnitude)
}

// bins counts values per bin index, densely from off: a counter's readings
// span few bins next to each other, so a slice merges and walks in order
// faster, and holds a day of readings in less memory, than a map.
type bins struct {
	off    int32
	counts []uint64
}

// Bin indexes of the magnitudes a sketch keeps: minValue up to the largest
// float64, about 36,500 bins; decoding refuses others.
var (
	minBin = binOf(minValue)
	maxBin = binOf(math.MaxFloat64)
)

// grow makes room for bins lo…hi.
func (b *bins) grow(lo, hi int32) {
	if len(b.counts) == 0 {
		b.off, b.counts = lo, make([]uint64, hi-lo+1, max(hi-lo+1, 8))
		return
	}
	end := b.off + int32(len(b.counts)) - 1
	if lo < b.off {
		// Some room below too, so values drifting down do not copy
		// the slice each time.
		lo = max(min(lo, b.off-int32(len(b.counts))/2), minBin)
		counts := make([]uint64, end-lo+1, end-lo+1+int32(len(b.counts))/2)
		copy(counts[b.off-lo:], b.counts)
		b.off, b.counts = lo, counts
	}
	if hi > end {
		b.counts = append(b.counts, make([]uint64, hi-end)...)
	}
}

func (b *bins) add(i int32, n uint64) {
	b.grow(i, i)
	b.counts[i-b.off] += n
}

func (b *bins) merge(o *bins) {
	if len(o.counts) == 0 {
		return
	}
	b.grow(o.off, o.off+int32(len(o.counts))-1)
	dst := b.counts[o.off-b.off:]
	for i, n := range o.counts {
		dst[i] += n
	}
}

func (b *bins) total() uint64 {
	var n uint64
	for _, c := range b.counts {
		n += c
	}
	return n
}

// Accuracy is the sketch's relative error bound α.
const Accuracy = 0.01

// minValue is the smallest magnitude kept apart from zero.
const minValue = 1e-9

var (
	gamma    = (1 + Accuracy) / (1 - Accuracy)
	logGamma = math.Log(gamma)
)

// binOf is the bin of a positive magnitude.
func binOf(v float64) int32 { return int32(math.Ceil(math.Log(v) / logGamma)) }

// binValue is the value a bin stands for: within α of every value in it.
func binValue(i int32) float64 { return 2 * math.Pow(gamma, float64(i)) / (1 + gamma) }

// Add counts v once (NaN and ±Inf are ignored: a counter that could not be
// read says nothing about load).
func (s *Sketch) Add(v float64) { s.addN(v, 1) }

func (s *Sketch) addN(v float64, n uint64) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
	case v > minValue:
		s.pos.add(binOf(v), n)
	case v < -minValue:
		s.neg.add(binOf(-v), n)
	default:
		s.zero += n
	}
}

// Merge adds every count of o.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil {
		return
	}
	s.zero += o.zero
	s.pos.merge(&o.pos)
	s.neg.merge(&o.neg)
}

// Count is how many values were added.
func (s *Sketch) Count() uint64 { return s.zero + s.pos.total() + s.neg.total() }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) within the relative error
// bound, or NaN for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 {
	total := s.Count()
	if total == 0 {
		return math.NaN()
	}
	rank := uint64(math.Floor(q * float64(total-1)))
	var seen uint64
	// Negative values, most negative first.
	for i := len(s.neg.counts) - 1; i >= 0; i-- {
		if seen += s.neg.counts[i]; seen > rank {
			return -binValue(s.neg.off + int32(i))
		}
	}
	if seen += s.zero; seen > rank {
		return 0
	}
	last := math.NaN()
	for i, n := range s.pos.counts {
		if n == 0 {
			continue
		}
		last = binValue(s.pos.off + int32(i))
		if seen += n; seen > rank {
			return last
		}
	}
	if math.IsNaN(last) { // q > 1 with no positive values
		return 0
	}
	return last
}

// sketchVersion is the first byte of an encoded sketch.
const sketchVersion = 1

// MarshalBinary encodes the sketch compactly: version, zero count, then
// each side's bins as (delta of bin index, count) varints.
func (s *Sketch) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 8+2*(len(s.pos.counts)+len(s.neg.counts)))
	b = append(b, sketchVersion)
	b = binary.AppendUvarint(b, s.zero)
	for _, side := range []*bins{&s.pos, &s.neg} {
		n := 0
		for _, c := range side.counts {
			if c != 0 {
				n++
			}
		}
		b = binary.AppendUvarint(b, uint64(n))
		prev := int64(0)
		for i, c := range side.counts {
			if c == 0 {
				continue
			}
			k := int64(side.off) + int64(i)
			b = binary.AppendVarint(b, k-prev)
			b = binary.AppendUvarint(b, c)
			prev = k
		}
	}
	return b, nil
}

// errSketch is returned for bytes that are no encoded sketch.
var errSketch = errors.New("not an encoded sketch")

// UnmarshalBinary decodes what MarshalBinary wrote; an empty input is an
// empty sketch.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	*s = Sketch{}
	if len(b) == 0 {
		return nil
	}
	if b[0] != sketchVersion {
		return fmt.Errorf("%w: version %d", errSketch, b[0])
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errSketch
		}
		b = b[n:]
		return v, nil
	}
	var err error
	if s.zero, err = next(); err != nil {
		return err
	}
	for i := range 2 {
		n, err := next()
		if err != nil {
			return err
		}
		if n > uint64(len(b)) { // each bin takes at least two bytes
			return fmt.Errorf("%w: %d bins in %d bytes", errSketch, n, len(b))
		}
		side := &s.pos
		if i == 1 {
			side = &s.neg
		}
		prev := int64(0)
		for range n {
			d, k := binary.Varint(b)
			if k <= 0 {
				return errSketch
			}
			b = b[k:]
			c, err := next()
			if err != nil {
				return err
			}
			prev += d
			if prev < int64(minBin) || prev > int64(maxBin) {
				return fmt.Errorf("%w: bin %d out of range", errSketch, prev)
			}
			side.add(int32(prev), c)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errSketch, len(b))
	}
	return nil
}
