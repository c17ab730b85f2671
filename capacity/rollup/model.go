package rollup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Resolution is a bucket width in seconds.
type Resolution int64

// The resolutions kept.
const (
	Minute Resolution = 60
	Hour   Resolution = 3600
	Day    Resolution = 86400
)

// Resolutions lists them finest first.
var Resolutions = []Resolution{Minute, Hour, Day}

// Duration is the bucket width.
func (r Resolution) Duration() time.Duration { return time.Duration(r) * time.Second }

// Start is the start of the bucket holding t (UTC bucket boundaries).
func (r Resolution) Start(t time.Time) int64 {
	s := t.Unix()
	return s - mod(s, int64(r))
}

func mod(a, b int64) int64 { return ((a % b) + b) % b }

func (r Resolution) String() string {
	switch r {
	case Minute:
		return "1m"
	case Hour:
		return "1h"
	case Day:
		return "1d"
	}
	return fmt.Sprintf("%ds", int64(r))
}

// Retention is how long each resolution is kept.
type Retention map[Resolution]time.Duration

// DefaultRetention keeps minutes two weeks (incidents, and the console's
// dashboards, which need at least MinMinuteRetention), hours 400 days (a
// year and its season for forecasts) and days five years.
func DefaultRetention() Retention {
	return Retention{Minute: 14 * 24 * time.Hour, Hour: 400 * 24 * time.Hour, Day: 5 * 365 * 24 * time.Hour}
}

// MinMinuteRetention is the least 1-minute history the console's
// dashboards promise (docs/dashboards.md): a day at full resolution.
const MinMinuteRetention = 24 * time.Hour

// OrgRetention is how long organization load (hourly) is kept.
const OrgRetention = 400 * 24 * time.Hour

// Agg is one bucket of one series.
type Agg struct {
	Count    uint64
	Min, Max float64
	Sum      float64
	Sketch   Sketch
}

// Add counts one value; NaN and ±Inf are ignored.
func (a *Agg) Add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if a.Count == 0 || v < a.Min {
		a.Min = v
	}
	if a.Count == 0 || v > a.Max {
		a.Max = v
	}
	a.Count++
	a.Sum += v
	a.Sketch.Add(v)
}

// Merge adds o into a.
func (a *Agg) Merge(o *Agg) {
	if o.Count == 0 {
		return
	}
	if a.Count == 0 || o.Min < a.Min {
		a.Min = o.Min
	}
	if a.Count == 0 || o.Max > a.Max {
		a.Max = o.Max
	}
	a.Count += o.Count
	a.Sum += o.Sum
	a.Sketch.Merge(&o.Sketch)
}

// Avg is the mean (NaN when empty).
func (a *Agg) Avg() float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return a.Sum / float64(a.Count)
}

// P95 is the 95th percentile within the sketch's accuracy, clamped to
// [Min, Max].
func (a *Agg) P95() float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return min(max(a.Sketch.Quantile(0.95), a.Min), a.Max)
}

// SeriesKey names one bucket of one series.
type SeriesKey struct {
	Res     Resolution
	Host    string
	Counter string
	Bucket  int64 // Unix seconds of the bucket's start
}

// SeriesName names one stored series.
type SeriesName struct {
	Host, Counter, Role string
}

// SeriesRow is a bucket as stored.
type SeriesRow struct {
	SeriesKey
	Role string
	Agg
}

// Range selects the buckets of one series starting in [From, To) (Unix
// seconds).
type Range struct {
	Host, Counter string
	From, To      int64
}

// Time is the bucket's start.
func (r SeriesRow) Time() time.Time { return time.Unix(r.Bucket, 0).UTC() }

// OrgKey names the load of one organization on one host in one hour.
type OrgKey struct {
	Organization string
	Host         string
	Hour         int64 // Unix seconds of the hour's start
}

// OrgRow is an organization's hour on a host as stored.
type OrgRow struct {
	OrgKey
	Requests uint64
	Errors   uint64
	Users    UserSet
}

// Time is the hour's start.
func (r OrgRow) Time() time.Time { return time.Unix(r.Hour, 0).UTC() }

// UserSet is a set of user-name hashes (sorted), exact up to MaxUsers and
// merged by union, so distinct users add up correctly across hosts and
// flushes.
type UserSet []uint32

// MaxUsers bounds a set; past it the set keeps its smallest hashes (a
// bottom-k sample), and Len estimates the total from them.
const MaxUsers = 8192

// Add inserts h.
func (u *UserSet) Add(h uint32) {
	i, found := slices.BinarySearch(*u, h)
	if found {
		return
	}
	if len(*u) >= MaxUsers && i >= len(*u) {
		return
	}
	*u = slices.Insert(*u, i, h)
	if len(*u) > MaxUsers {
		*u = (*u)[:MaxUsers]
	}
}

// Merge is the union (past MaxUsers, its smallest hashes).
func (u *UserSet) Merge(o UserSet) {
	if len(o) > 0 {
		*u = Union(nil, *u, o)
	}
}

// Union appends the union of the sorted sets a and b (past MaxUsers, its
// smallest hashes) to dst[:0] in one pass over both; dst must share no
// memory with them. Reusing dst saves an allocation per union.
func Union(dst, a, b UserSet) UserSet {
	out := dst[:0]
	i, j := 0, 0
	for len(out) < MaxUsers && (i < len(a) || j < len(b)) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default: // in both
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// Len is the number of distinct users (estimated past MaxUsers).
func (u UserSet) Len() int {
	if len(u) < MaxUsers {
		return len(u)
	}
	return int(float64(MaxUsers-1) * float64(1<<32) / float64(u[len(u)-1]))
}

// Commit is what one flush stores in one transaction: the deltas of the
// buckets touched, merged into what is stored, and the stream positions
// they reach, under the consumer's epoch.
type Commit struct {
	Epoch     int64
	Positions map[string]uint64
	Series    []SeriesRow
	Orgs      []OrgRow
}

// MarshalBinary encodes the set as varint deltas.
func (u UserSet) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2*len(u)+1)
	prev := uint32(0)
	for _, h := range u {
		b = binary.AppendUvarint(b, uint64(h-prev))
		prev = h
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (u *UserSet) UnmarshalBinary(b []byte) error {
	*u = (*u)[:0]
	prev := uint64(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || prev+d > math.MaxUint32 || (len(*u) > 0 && d == 0) {
			return errors.New("not an encoded user set")
		}
		prev += d
		*u = append(*u, uint32(prev))
		b = b[n:]
	}
	return nil
}
