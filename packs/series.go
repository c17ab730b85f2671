package packs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxSeriesLen bounds one expanded test series.
const maxSeriesLen = 100_000

// ParseSeries expands promtool-style series notation: space-separated
// values, "a+bxN" (a, a+b, … N+1 values), "a-bxN", "axN" (a repeated N+1
// times) and "_" (no sample). Missing samples are NaN.
func ParseSeries(s string) ([]float64, error) {
	var out []float64
	for _, tok := range strings.Fields(s) {
		if tok == "_" {
			out = append(out, math.NaN())
			continue
		}
		vals, err := expandToken(tok)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s, err)
		}
		if len(out)+len(vals) > maxSeriesLen {
			return nil, fmt.Errorf("series %q: more than %d values", s, maxSeriesLen)
		}
		out = append(out, vals...)
	}
	return out, nil
}

func expandToken(tok string) ([]float64, error) {
	x := strings.LastIndexByte(tok, 'x')
	if x < 0 {
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a number", tok)
		}
		return []float64{v}, nil
	}
	n, err := strconv.Atoi(tok[x+1:])
	if err != nil || n < 0 || n > maxSeriesLen {
		return nil, fmt.Errorf("%q: repeat count must be 0..%d", tok, maxSeriesLen)
	}
	head := tok[:x]
	// Find the step sign after the first character (which may be a sign).
	i := strings.IndexAny(head[min(1, len(head)):], "+-")
	start, step := head, "0"
	if i >= 0 {
		i++
		start, step = head[:i], head[i:]
	}
	a, err1 := strconv.ParseFloat(start, 64)
	b, err2 := strconv.ParseFloat(step, 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%q: want a+bxN, a-bxN or axN", tok)
	}
	out := make([]float64, n+1)
	for k := range out {
		out[k] = a + float64(k)*b
	}
	return out, nil
}
