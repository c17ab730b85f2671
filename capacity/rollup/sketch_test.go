package rollup

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func exactQuantile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[int(math.Floor(q*float64(len(s)-1)))]
}

func TestSketchQuantileWithinAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		draw func() float64
	}{
		{"cpu percent", func() float64 { return 5 + 90*r.Float64() }},
		{"lognormal bytes", func() float64 { return math.Exp(20 + 2*r.NormFloat64()) }},
		{"with zeros and negatives", func() float64 { return float64(r.IntN(7)-3) * r.Float64() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Sketch
			vs := make([]float64, 5000)
			for i := range vs {
				vs[i] = tc.draw()
				s.Add(vs[i])
			}
			for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
				got, want := s.Quantile(q), exactQuantile(vs, q)
				if math.Abs(got-want) > Accuracy*math.Abs(want)+1e-9 {
					t.Errorf("q%.2f = %g, exact %g: off by more than %.0f %%", q, got, want, 100*Accuracy)
				}
			}
		})
	}
}

// An hour's p95 from its minutes' merged sketches is the p95 of all its
// values, which averaging the minutes' p95s is not.
func TestSketchMergeIsUnion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var whole Sketch
	parts := make([]Sketch, 60)
	var all []float64
	for i := range parts {
		for range 4 {
			v := 10 + float64(i) + 5*r.Float64()
			parts[i].Add(v)
			whole.Add(v)
			all = append(all, v)
		}
	}
	var merged Sketch
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if merged.Count() != whole.Count() || merged.Quantile(0.95) != whole.Quantile(0.95) {
		t.Fatalf("merged p95 %g (n=%d), whole %g (n=%d)", merged.Quantile(0.95), merged.Count(), whole.Quantile(0.95), whole.Count())
	}
	if want := exactQuantile(all, 0.95); math.Abs(merged.Quantile(0.95)-want) > Accuracy*want {
		t.Fatalf("p95 %g, exact %g", merged.Quantile(0.95), want)
	}
}

func TestSketchEncoding(t *testing.T) {
	var s Sketch
	for _, v := range []float64{0, 1e-12, -3, 42, 42, 1e12, math.NaN(), math.Inf(1)} {
		s.Add(v)
	}
	b, _ := s.MarshalBinary()
	var back Sketch
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Count() != 6 || back.Quantile(0.5) != s.Quantile(0.5) || back.Quantile(1) != s.Quantile(1) || back.Quantile(0) != s.Quantile(0) {
		t.Fatalf("round trip: count %d, quantiles %g/%g/%g", back.Count(), back.Quantile(0), back.Quantile(0.5), back.Quantile(1))
	}
	for _, bad := range [][]byte{{9}, {1, 0, 5}, append(b, 7)} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("decoding %v: want an error", bad)
		}
	}
}

func FuzzSketchDecode(f *testing.F) {
	var s Sketch
	for _, v := range []float64{0, 1, 2, 300, -5} {
		s.Add(v)
	}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := s.MarshalBinary()
		var s2 Sketch
		if err := s2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded sketch does not decode: %v", err)
		}
		if s2.Count() != s.Count() {
			t.Fatalf("count %d after round trip, was %d", s2.Count(), s.Count())
		}
		_ = s.Quantile(0.95)
	})
}

func FuzzUserSetDecode(f *testing.F) {
	u := UserSet{3, 70, 1 << 30}
	b, _ := u.MarshalBinary()
	f.Add(b)
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var u UserSet
		if err := u.UnmarshalBinary(b); err != nil {
			return
		}
		if !slices.IsSorted(u) {
			t.Fatalf("decoded set not sorted: %v", u)
		}
	})
}

// TestUserSetMergeIsUnion checks the one-pass merge against adding each
// hash, below and past MaxUsers (where both keep the smallest hashes).
func TestUserSetMergeIsUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, n := range [][2]int{{0, 5}, {5, 0}, {40, 40}, {3000, 7000}, {MaxUsers, 100}, {9000, 9000}} {
		var a, b UserSet
		for range n[0] {
			a.Add(rng.Uint32() % 20000)
		}
		for range n[1] {
			b.Add(rng.Uint32() % 20000)
		}
		want := slices.Clone(a)
		for _, h := range b {
			want.Add(h)
		}
		got := slices.Clone(a)
		got.Merge(b)
		if !slices.Equal(got, want) {
			t.Errorf("sizes %v: merge gives %d hashes, adding each %d", n, len(got), len(want))
		}
	}
}

// TestSketchBinsGrowBothWays adds values falling (the bins grow below),
// rising and spread over many decades, and merges sketches whose bins do
// not overlap: every way gives the same sketch, byte for byte encoded.
func TestSketchBinsGrowBothWays(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var vs []float64
	for i := range 400 {
		vs = append(vs, 1e6/float64(i+1), -float64(i)*0.37, math.Exp(r.NormFloat64()*8), 0)
	}
	var falling, rising, shuffled, merged Sketch
	for _, v := range vs {
		falling.Add(v)
	}
	sorted := slices.Clone(vs)
	slices.Sort(sorted)
	for _, v := range sorted {
		rising.Add(v)
	}
	r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	parts := make([]Sketch, 7)
	for i, v := range vs {
		shuffled.Add(v)
		parts[i%7].Add(v)
	}
	var low, high Sketch // disjoint ranges, merged both ways
	low.Add(0.001)
	high.Add(1e9)
	for i := range parts {
		merged.Merge(&parts[len(parts)-1-i])
	}
	want, _ := falling.MarshalBinary()
	for name, s := range map[string]*Sketch{"rising": &rising, "shuffled": &shuffled, "merged": &merged} {
		if got, _ := s.MarshalBinary(); !slices.Equal(got, want) {
			t.Errorf("%s: encoded differently from falling", name)
		}
		for _, q := range []float64{0, 0.05, 0.5, 0.95, 1} {
			if s.Quantile(q) != falling.Quantile(q) {
				t.Errorf("%s q%.2f = %g, falling %g", name, q, s.Quantile(q), falling.Quantile(q))
			}
		}
	}
	a, b := low, high
	a.Merge(&high)
	b.Merge(&low)
	ea, _ := a.MarshalBinary()
	eb, _ := b.MarshalBinary()
	if !slices.Equal(ea, eb) || a.Quantile(0) != b.Quantile(0) || a.Quantile(1) != b.Quantile(1) || a.Count() != 2 {
		t.Errorf("disjoint merges differ: %v %v", ea, eb)
	}
	var huge Sketch
	if err := huge.UnmarshalBinary([]byte{1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0}); err == nil {
		t.Error("a bin past the largest float64's decoded")
	}
}
