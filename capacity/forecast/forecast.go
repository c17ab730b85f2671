// Package forecast projects a capacity indicator (one value a day, such as
// a server's daily CPU p95) forward with two models — a least-squares line
// and additive Holt-Winters with a weekly season — picks the one with the
// smaller back-test error, and says when the projection crosses a
// threshold (like Zabbix timeleft()).
package forecast

import (
	"math"
	"time"
)

// Methods.
const (
	Linear      = "linear"
	HoltWinters = "holt-winters"
)

// Point is one projected value with its 95 % band.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
	Low   float64   `json:"low"`
	High  float64   `json:"high"`
}

// Options of a forecast.
type Options struct {
	// Horizon is how many steps to project (default 180).
	Horizon int
	// Season is the season length in steps (default 7: a week of days).
	Season int
	// Threshold, when set, is the value whose crossing is dated; Below
	// means crossing downwards (free memory, free disk).
	Threshold *float64
	Below     bool
}

// Result is the chosen model's projection.
type Result struct {
	Method string `json:"method"`
	// BacktestMAE is each model's mean absolute error on the held-out
	// last steps (the fit chosen has the smaller).
	BacktestMAE map[string]float64 `json:"backtest_mae"`
	// SlopePerDay is the linear trend of the history (units per step).
	SlopePerDay float64 `json:"slope_per_day"`
	Points      []Point `json:"points"`
	// DaysToThreshold is the number of steps until the projection first
	// crosses the threshold (0: already across), nil when it does not
	// within the horizon or there is no threshold.
	DaysToThreshold *float64   `json:"days_to_threshold"`
	CrossesAt       *time.Time `json:"crosses_at,omitempty"`
}

// model is a fitted model: point forecast and band half-width k steps
// after the last observation.
type model interface {
	at(k int) float64
	band(k int) float64
}

// Forecast projects values (one per step from start; NaN for missing
// steps) forward. At least two seasons of history are needed for
// Holt-Winters; with less, or fewer than 4 values, it falls back to the line.
func Forecast(values []float64, start time.Time, step time.Duration, o Options) Result {
	if o.Horizon <= 0 {
		o.Horizon = 180
	}
	if o.Season <= 0 {
		o.Season = 7
	}
	ys := fill(values)
	res := Result{BacktestMAE: map[string]float64{}}
	if len(ys) == 0 {
		res.Method = Linear
		return res
	}
	res.SlopePerDay = fitLine(ys).slope
	fits := map[string]func([]float64) model{Linear: func(y []float64) model { return fitLine(y) }}
	if len(ys) >= 2*o.Season+2 {
		fits[HoltWinters] = func(y []float64) model { return fitHW(y, o.Season) }
	}
	// Back-test: hold out the last quarter (at most two seasons), fit on
	// the rest, and compare the projections with what happened.
	hold := min(max(len(ys)/4, 1), 2*o.Season)
	res.Method = Linear
	best := math.Inf(1)
	for _, name := range []string{Linear, HoltWinters} {
		fit := fits[name]
		if fit == nil {
			continue
		}
		train := ys[:len(ys)-hold]
		if name == HoltWinters && len(train) < 2*o.Season {
			continue
		}
		if len(train) < 2 {
			continue
		}
		m := fit(train)
		var mae float64
		for k := 1; k <= hold; k++ {
			mae += math.Abs(m.at(k) - ys[len(train)+k-1])
		}
		mae /= float64(hold)
		res.BacktestMAE[name] = mae
		if mae < best {
			best, res.Method = mae, name
		}
	}
	m := fits[res.Method](ys)
	last := start.Add(time.Duration(len(ys)-1) * step)
	for k := 1; k <= o.Horizon; k++ {
		v, b := m.at(k), 1.96*m.band(k)
		res.Points = append(res.Points, Point{Time: last.Add(time.Duration(k) * step), Value: v, Low: v - b, High: v + b})
	}
	if o.Threshold != nil {
		thr := *o.Threshold
		across := func(v float64) bool { return (!o.Below && v >= thr) || (o.Below && v <= thr) }
		if across(ys[len(ys)-1]) {
			zero := 0.0
			res.DaysToThreshold, res.CrossesAt = &zero, &last
		} else {
			for k, p := range res.Points {
				if across(p.Value) {
					d := float64(k+1) * step.Hours() / 24
					t := p.Time
					res.DaysToThreshold, res.CrossesAt = &d, &t
					break
				}
			}
		}
	}
	return res
}

// fill replaces missing values by the previous one (the first known value
// at the start), so a gap of a day neither breaks nor bends the fit.
func fill(vs []float64) []float64 {
	out := make([]float64, 0, len(vs))
	first := math.NaN()
	for _, v := range vs {
		if !math.IsNaN(v) {
			first = v
			break
		}
	}
	if math.IsNaN(first) {
		return nil
	}
	prev := first
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = prev
		}
		out = append(out, v)
		prev = v
	}
	return out
}

// line is a least-squares line over steps 0…n-1.
type line struct {
	intercept, slope float64
	n                int
	sigma, meanX     float64
	sxx              float64
}

func fitLine(y []float64) line {
	n := float64(len(y))
	var sx, sy float64
	for i, v := range y {
		sx += float64(i)
		sy += v
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i, v := range y {
		dx := float64(i) - mx
		sxx += dx * dx
		sxy += dx * (v - my)
	}
	l := line{n: len(y), meanX: mx, sxx: sxx}
	if sxx > 0 {
		l.slope = sxy / sxx
	}
	l.intercept = my - l.slope*mx
	var sse float64
	for i, v := range y {
		r := v - l.intercept - l.slope*float64(i)
		sse += r * r
	}
	if len(y) > 2 {
		l.sigma = math.Sqrt(sse / (n - 2))
	}
	return l
}

func (l line) at(k int) float64 { return l.intercept + l.slope*float64(l.n-1+k) }

// band is the prediction standard error of a new value k steps ahead.
func (l line) band(k int) float64 {
	x := float64(l.n - 1 + k)
	v := 1 + 1/float64(l.n)
	if l.sxx > 0 {
		v += (x - l.meanX) * (x - l.meanX) / l.sxx
	}
	return l.sigma * math.Sqrt(v)
}

// hw is additive Holt-Winters (level, trend, season of length m), its
// smoothing parameters chosen by the smallest one-step squared error over
// a grid.
type hw struct {
	level, trend float64
	season       []float64 // by phase of the step after the last
	m            int
	alpha, beta  float64
	sigma        float64
}

var (
	alphas = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7}
	betas  = []float64{0, 0.01, 0.05, 0.1, 0.2}
	gammas = []float64{0.05, 0.1, 0.2, 0.4}
)

func fitHW(y []float64, m int) hw {
	var best hw
	bestSSE := math.Inf(1)
	for _, a := range alphas {
		for _, b := range betas {
			for _, g := range gammas {
				h, sse := runHW(y, m, a, b, g)
				if sse < bestSSE {
					best, bestSSE = h, sse
				}
			}
		}
	}
	return best
}

// runHW smooths y; the initial level and trend come from the first two
// seasons, the initial season from the first season's deviations.
func runHW(y []float64, m int, alpha, beta, gamma float64) (hw, float64) {
	var s1, s2 float64
	for i := range m {
		s1 += y[i]
		s2 += y[m+i]
	}
	level := s1 / float64(m)
	trend := (s2 - s1) / float64(m*m)
	season := make([]float64, m)
	for i := range m {
		season[i] = y[i] - level
	}
	var sse float64
	var n int
	for t := m; t < len(y); t++ {
		s := season[t%m]
		pred := level + trend + s
		e := y[t] - pred
		sse += e * e
		n++
		newLevel := alpha*(y[t]-s) + (1-alpha)*(level+trend)
		trend = beta*(newLevel-level) + (1-beta)*trend
		season[t%m] = gamma*(y[t]-newLevel) + (1-gamma)*s
		level = newLevel
	}
	h := hw{level: level, trend: trend, m: m, alpha: alpha, beta: beta, season: make([]float64, m)}
	for i := range m {
		h.season[i] = season[(len(y)+i)%m]
	}
	if n > 0 {
		h.sigma = math.Sqrt(sse / float64(n))
	}
	return h, sse
}

func (h hw) at(k int) float64 { return h.level + float64(k)*h.trend + h.season[(k-1)%h.m] }

// band widens with the horizon as the level's and trend's errors add up
// (the additive model's approximate variance).
func (h hw) band(k int) float64 {
	v := 1.0
	for j := 1; j < k; j++ {
		c := h.alpha * (1 + float64(j)*h.beta)
		v += c * c
	}
	return h.sigma * math.Sqrt(v)
}
