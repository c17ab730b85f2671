package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sketch is a mergeable quantile sketch with a relative error bound (the
// DDSketch idea): a value v > 0 falls in bin ceil(log_γ v) with γ =
// (1+α)/(1-α), so any quantile read back is within α of a value of the
// right rank. Sketches of two minutes merge into the sketch of both, which
// is what makes an hour's p95 exact up to α from its minutes' sketches
// rather than an average of their p95s.
type Sketch struct {
	zero uint64           // values in [-minValue, minValue]
	pos  map[int32]uint64 // bins of positive values
	neg  map[int32]uint64 // bins of negative values (by magnitude)
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
		if s.pos == nil {
			s.pos = map[int32]uint64{}
		}
		s.pos[binOf(v)] += n
	case v < -minValue:
		if s.neg == nil {
			s.neg = map[int32]uint64{}
		}
		s.neg[binOf(-v)] += n
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
	for i, n := range o.pos {
		if s.pos == nil {
			s.pos = make(map[int32]uint64, len(o.pos))
		}
		s.pos[i] += n
	}
	for i, n := range o.neg {
		if s.neg == nil {
			s.neg = make(map[int32]uint64, len(o.neg))
		}
		s.neg[i] += n
	}
}

// Count is how many values were added.
func (s *Sketch) Count() uint64 {
	n := s.zero
	for _, c := range s.pos {
		n += c
	}
	for _, c := range s.neg {
		n += c
	}
	return n
}

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
	negs := sortedKeys(s.neg)
	for i := len(negs) - 1; i >= 0; i-- {
		if seen += s.neg[negs[i]]; seen > rank {
			return -binValue(negs[i])
		}
	}
	if seen += s.zero; seen > rank {
		return 0
	}
	for _, k := range sortedKeys(s.pos) {
		if seen += s.pos[k]; seen > rank {
			return binValue(k)
		}
	}
	return binValue(slices.Max(sortedKeys(s.pos)))
}

func sortedKeys(m map[int32]uint64) []int32 {
	ks := make([]int32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// sketchVersion is the first byte of an encoded sketch.
const sketchVersion = 1

// MarshalBinary encodes the sketch compactly: version, zero count, then
// each side's bins as (delta of bin index, count) varints.
func (s *Sketch) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 8+4*(len(s.pos)+len(s.neg)))
	b = append(b, sketchVersion)
	b = binary.AppendUvarint(b, s.zero)
	for _, m := range []map[int32]uint64{s.pos, s.neg} {
		ks := sortedKeys(m)
		b = binary.AppendUvarint(b, uint64(len(ks)))
		prev := int64(0)
		for _, k := range ks {
			b = binary.AppendVarint(b, int64(k)-prev)
			b = binary.AppendUvarint(b, m[k])
			prev = int64(k)
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
	for side := range 2 {
		n, err := next()
		if err != nil {
			return err
		}
		if n > uint64(len(b)) { // each bin takes at least two bytes
			return fmt.Errorf("%w: %d bins in %d bytes", errSketch, n, len(b))
		}
		m := make(map[int32]uint64, n)
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
			if prev < math.MinInt32 || prev > math.MaxInt32 {
				return fmt.Errorf("%w: bin %d out of range", errSketch, prev)
			}
			m[int32(prev)] += c
		}
		if side == 0 {
			s.pos = m
		} else {
			s.neg = m
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errSketch, len(b))
	}
	return nil
}
