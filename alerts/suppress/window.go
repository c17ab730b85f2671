// Package suppress decides whether an alert was raised inside a
// maintenance window or matches a silence. Suppressed alerts are recorded
// and shown (with what suppressed them), never handed to notifiers.
//
// Maintenance windows target hosts, roles or server groups, once (start to
// end) or weekly in a time zone (patch nights). Silences match alert labels
// (rule, host, role, group, organization, severity) until they expire.
package suppress

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // weekly windows name IANA zones; Windows and slim hosts lack the database

	"crmwatch/alerts"
)

// Window is a maintenance window.
type Window struct {
	ID string `json:"id"`
	// Hosts, Roles and Groups it covers (an alert on any of them is in it).
	Hosts  []string `json:"hosts,omitempty"`
	Roles  []string `json:"roles,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Start and End bound a one-off window; Weekly repeats instead.
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Weekly *Weekly   `json:"weekly,omitempty"`

	Comment   string    `json:"comment,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Days are week days, written as names ("sat") in JSON.
type Days []time.Weekday

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// MarshalJSON writes ["sat","sun"].
func (d Days) MarshalJSON() ([]byte, error) {
	names := make([]string, 0, len(d))
	for _, w := range d {
		if w >= 0 && int(w) < len(dayNames) {
			names = append(names, dayNames[w])
		}
	}
	return json.Marshal(names)
}

// UnmarshalJSON reads day names ("sat", "Saturday", "mon-fri" items too).
func (d *Days) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return errors.New("days: want a list of day names, e.g. [\"sat\", \"sun\"]")
	}
	out, err := ParseDays(strings.Join(names, ","))
	if err != nil {
		return err
	}
	*d = out
	return nil
}

// Weekly repeats a window on some days at a local time in a time zone.
type Weekly struct {
	Days     Days     `json:"days"`
	At       string   `json:"at"`       // "22:00", local to TZ
	Duration Duration `json:"duration"` // at most 7 days
	TZ       string   `json:"tz"`       // IANA zone, e.g. Europe/Berlin
}

// Duration is a time.Duration written as "4h" in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: write e.g. 4h or 90m", b)
	}
	*d = Duration(v)
	return nil
}

// MaxWeeklyDuration bounds a recurring window.
const MaxWeeklyDuration = 7 * 24 * time.Hour

// Validate reports every problem at once.
func (w *Window) Validate() error {
	var errs []error
	if len(w.Hosts)+len(w.Roles)+len(w.Groups) == 0 {
		errs = append(errs, errors.New("name what the window covers: hosts, roles or groups"))
	}
	for _, list := range [][]string{w.Hosts, w.Roles, w.Groups} {
		if slices.Contains(list, "") {
			errs = append(errs, errors.New("an empty host, role or group name"))
		}
	}
	switch {
	case w.Weekly != nil && (!w.Start.IsZero() || !w.End.IsZero()):
		errs = append(errs, errors.New("a window is either one-off (start and end) or weekly, not both"))
	case w.Weekly != nil:
		errs = append(errs, w.Weekly.validate())
	case w.Start.IsZero() || w.End.IsZero():
		errs = append(errs, errors.New("a one-off window needs a start and an end"))
	case !w.End.After(w.Start):
		errs = append(errs, fmt.Errorf("end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

func (r *Weekly) validate() error {
	var errs []error
	if len(r.Days) == 0 {
		errs = append(errs, errors.New("weekly: name the days (e.g. sat,sun)"))
	}
	if _, _, err := clock(r.At); err != nil {
		errs = append(errs, fmt.Errorf("weekly: %w", err))
	}
	if d := time.Duration(r.Duration); d <= 0 || d > MaxWeeklyDuration {
		errs = append(errs, fmt.Errorf("weekly: duration %s must be positive and at most 7 days", d))
	}
	if _, err := time.LoadLocation(r.TZ); err != nil || r.TZ == "" {
		errs = append(errs, fmt.Errorf("weekly: unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", r.TZ))
	}
	return errors.Join(errs...)
}

func clock(s string) (h, m int, err error) {
	hs, ms, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, fmt.Errorf("time of day %q: want HH:MM (24-hour)", s)
	}
	return h, m, nil
}

// ParseDays reads "sat,sun", "mon-fri" or "daily".
func ParseDays(s string) ([]time.Weekday, error) {
	names := map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
	day := func(x string) (time.Weekday, error) {
		t := strings.ToLower(strings.TrimSpace(x))
		if len(t) > 3 {
			t = t[:3]
		}
		d, ok := names[t]
		if !ok {
			return 0, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat or sun", x)
		}
		return d, nil
	}
	if strings.EqualFold(strings.TrimSpace(s), "daily") {
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	}
	var out []time.Weekday
	for part := range strings.SplitSeq(s, ",") {
		if a, b, ok := strings.Cut(part, "-"); ok {
			from, err := day(a)
			if err != nil {
				return nil, err
			}
			to, err := day(b)
			if err != nil {
				return nil, err
			}
			for d := from; ; d = (d + 1) % 7 {
				out = append(out, d)
				if d == to {
					break
				}
			}
			continue
		}
		d, err := day(part)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Active reports whether the window is open at now.
func (w *Window) Active(now time.Time) bool {
	if w.Weekly == nil {
		return !now.Before(w.Start) && now.Before(w.End)
	}
	r := w.Weekly
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		return false
	}
	h, m, err := clock(r.At)
	if err != nil {
		return false
	}
	local := now.In(loc)
	for back := 0; back <= 7; back++ {
		d := local.AddDate(0, 0, -back)
		if !slices.Contains(r.Days, d.Weekday()) {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc)
		if !now.Before(start) && now.Before(start.Add(time.Duration(r.Duration))) {
			return true
		}
	}
	return false
}

// Over reports whether a one-off window has ended for good at now.
func (w *Window) Over(now time.Time) bool { return w.Weekly == nil && !now.Before(w.End) }

// covers reports whether the window names one of the alert's hosts or their
// roles or groups.
func (w *Window) covers(a *alerts.Alert, hi HostInfo) bool {
	for _, h := range a.Hosts {
		if containsFold(w.Hosts, h) {
			return true
		}
		if hi == nil {
			continue
		}
		for _, r := range hi.Roles(h) {
			if containsFold(w.Roles, r) {
				return true
			}
		}
		for _, g := range hi.Groups(h) {
			if containsFold(w.Groups, g) {
				return true
			}
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
