package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var day = 24 * time.Hour

func synthetic(n int, base, slope, amp, noise float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = base + slope*float64(i) + amp*weekly(i) + noise*r.NormFloat64()
	}
	return out
}

// weekly is a working week: high Monday to Friday, low at the weekend.
func weekly(i int) float64 {
	if i%7 >= 5 {
		return -1
	}
	return 0.4
}

// A weekly season on a trend: Holt-Winters wins the back-test and its
// projection of the next four weeks stays within the noise of the truth.
func TestSeasonalTrendPicksHoltWinters(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	hist := synthetic(91, 40, 0.2, 15, 1, 1)
	thr := 80.0
	res := Forecast(hist, start, day, Options{Horizon: 28, Threshold: &thr})
	if res.Method != HoltWinters {
		t.Fatalf("method %s (back-test %v), want %s", res.Method, res.BacktestMAE, HoltWinters)
	}
	if res.BacktestMAE[HoltWinters] >= res.BacktestMAE[Linear] {
		t.Fatalf("back-test %v: Holt-Winters should beat the line on a seasonal series", res.BacktestMAE)
	}
	truth := synthetic(91+28, 40, 0.2, 15, 0, 1)[91:]
	var mae float64
	inside := 0
	for k, p := range res.Points {
		mae += math.Abs(p.Value - truth[k])
		if truth[k] >= p.Low-1 && truth[k] <= p.High+1 {
			inside++
		}
	}
	if mae /= 28; mae > 2.5 {
		t.Fatalf("mean absolute error over 4 weeks %.2f, want ≤ 2.5 (noise σ = 1)", mae)
	}
	if inside < 26 {
		t.Fatalf("truth inside the 95 %% band on %d of 28 days", inside)
	}
	if math.Abs(res.SlopePerDay-0.2) > 0.05 {
		t.Fatalf("slope %.3f/day, want 0.2", res.SlopePerDay)
	}
}

// A straight trend crosses its threshold when the arithmetic says:
// 20 + 0.5·t reaches 80 at t = 120, 31 days after the last of 90 days.
func TestLinearTrendDaysToThreshold(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hist := synthetic(90, 20, 0.5, 0, 0.5, 2)
	thr := 80.0
	res := Forecast(hist, start, day, Options{Threshold: &thr})
	if res.DaysToThreshold == nil || math.Abs(*res.DaysToThreshold-31) > 2 {
		t.Fatalf("days to threshold %v (method %s), want 31 ± 2", res.DaysToThreshold, res.Method)
	}
	if want := start.Add(120 * day); res.CrossesAt.Sub(want).Abs() > 2*day {
		t.Fatalf("crosses at %s, want %s ± 2 days", res.CrossesAt, want)
	}
	// Falling free memory crosses a lower threshold.
	free := synthetic(90, 9000, -40, 0, 20, 3)
	low := 1000.0
	res = Forecast(free, start, day, Options{Threshold: &low, Below: true})
	if res.DaysToThreshold == nil || math.Abs(*res.DaysToThreshold-111) > 3 {
		t.Fatalf("free memory reaches 1000 in %v days, want 111 ± 3", res.DaysToThreshold)
	}
	// Already across: 0; never within the horizon: nil.
	over := 10.0
	if res := Forecast(hist, start, day, Options{Threshold: &over}); res.DaysToThreshold == nil || *res.DaysToThreshold != 0 {
		t.Fatalf("already across: %v, want 0", res.DaysToThreshold)
	}
	flat := synthetic(90, 30, 0, 0, 0.5, 4)
	if res := Forecast(flat, start, day, Options{Threshold: &thr}); res.DaysToThreshold != nil {
		t.Fatalf("a flat series at 30 crosses 80 in %v days?", *res.DaysToThreshold)
	}
}

func TestShortAndGappySeries(t *testing.T) {
	start := time.Now()
	if res := Forecast(nil, start, day, Options{}); len(res.Points) != 0 {
		t.Fatal("a forecast from nothing")
	}
	nan := math.NaN()
	res := Forecast([]float64{nan, 10, nan, 12, 13, nan, 15}, start, day, Options{Horizon: 3})
	if res.Method != Linear || len(res.Points) != 3 || math.IsNaN(res.Points[0].Value) {
		t.Fatalf("short gappy series: %+v", res)
	}
}
