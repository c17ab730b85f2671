// Package query is the logic behind the offline `crmwatch trace` commands:
// record filters (shared with `trace tail`), expanding FILES arguments,
// parallel streaming statistics over gigabytes of trace files, and grep /
// parse output. The command files only bind flags and call this package.
package query

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"crmwatch/event"
	"crmwatch/tracing"
)

// Filter is what an operator asks for on the command line. The zero value
// matches every record. List fields accept several comma-separated values.
type Filter struct {
	// Level is the least severe level shown: verbose, info, warning or error
	// (levels are cumulative, as in CRM's TraceCategories).
	Level string
	// Categories match exactly (case-insensitive) or, written `Platform.*`,
	// the family and every sub-category (CRM's wildcard form).
	Categories []string
	// Organizations, ReqIDs and Processes match exactly, case-insensitive.
	Organizations []string
	ReqIDs        []string
	Processes     []string
	// Since and Until bound the record time: RFC 3339, `2006-01-02
	// 15:04:05[.fff]`, `2006-01-02`, or a duration before now (`90m`).
	Since, Until string
	// Text is a regular expression matched against operation and message.
	Text string
}

// BindFlags adds the filter flags (--level, --category, --org, --reqid,
// --process, --since, --until, --text) to fs.
func (f *Filter) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Level, "level", "", "least severe level shown: verbose, info, warning or error")
	fs.StringSliceVar(&f.Categories, "category", nil, "category, or family as Platform.* (repeatable, comma-separated)")
	fs.StringSliceVar(&f.Organizations, "org", nil, "organization id (repeatable, comma-separated)")
	fs.StringSliceVar(&f.ReqIDs, "reqid", nil, "request id (repeatable, comma-separated)")
	fs.StringSliceVar(&f.Processes, "process", nil, "process name such as w3wp (repeatable, comma-separated)")
	fs.StringVar(&f.Since, "since", "", "records at or after: 2006-01-02 15:04:05, RFC 3339, a date, or a duration ago (90m)")
	fs.StringVar(&f.Until, "until", "", "records before: same forms as --since")
	fs.StringVar(&f.Text, "text", "", "regular expression matched against operation and message")
}

// Matcher is a compiled Filter.
type Matcher struct {
	level      event.Level
	cats       []string // lower-case; a trailing ".*" kept as a family prefix
	orgs       []string
	reqs       []string
	procs      []string
	since      time.Time
	until      time.Time
	text       *regexp.Regexp
	matchesAll bool
}

// Compile validates f and reports every problem at once. now anchors
// duration forms of --since/--until; loc is the zone of trace timestamps.
func (f Filter) Compile(now time.Time, loc *time.Location) (*Matcher, error) {
	if loc == nil {
		loc = time.UTC
	}
	m := &Matcher{
		cats:  lowerAll(f.Categories),
		orgs:  lowerAll(f.Organizations),
		reqs:  lowerAll(f.ReqIDs),
		procs: lowerAll(f.Processes),
	}
	var errs []error
	if f.Level != "" {
		l, err := event.ParseLevel(f.Level)
		if err != nil || l == event.LevelCritical {
			errs = append(errs, fmt.Errorf("--level %q: want verbose, info, warning or error", f.Level))
		}
		m.level = l
	}
	var err error
	if m.since, err = parseWhen(f.Since, now, loc); err != nil {
		errs = append(errs, fmt.Errorf("--since: %w", err))
	}
	if m.until, err = parseWhen(f.Until, now, loc); err != nil {
		errs = append(errs, fmt.Errorf("--until: %w", err))
	}
	if f.Text != "" {
		if m.text, err = regexp.Compile(f.Text); err != nil {
			errs = append(errs, fmt.Errorf("--text: %w", err))
		}
	}
	if !m.since.IsZero() && !m.until.IsZero() && !m.until.After(m.since) {
		errs = append(errs, fmt.Errorf("--until %s is not after --since %s", f.Until, f.Since))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("trace filter: %w", errors.Join(errs...))
	}
	m.matchesAll = m.level == event.LevelUnknown && len(m.cats)+len(m.orgs)+len(m.reqs)+len(m.procs) == 0 &&
		m.since.IsZero() && m.until.IsZero() && m.text == nil
	return m, nil
}

// Match reports whether rec passes every condition.
func (m *Matcher) Match(rec *tracing.Record) bool {
	if m == nil || m.matchesAll {
		return true
	}
	if m.level != event.LevelUnknown && tracing.EventLevel(rec.Level) < m.level {
		return false
	}
	if !m.since.IsZero() && rec.Time.Before(m.since) {
		return false
	}
	if !m.until.IsZero() && !rec.Time.Before(m.until) {
		return false
	}
	if len(m.cats) > 0 && !matchCategory(m.cats, rec.Category) {
		return false
	}
	if !anyEqual(m.orgs, rec.Organization) || !anyEqual(m.reqs, rec.ReqID) || !anyEqual(m.procs, rec.Process) {
		return false
	}
	if m.text != nil && !m.text.MatchString(rec.Message) && !m.text.MatchString(rec.Operation) {
		return false
	}
	return true
}

func matchCategory(want []string, cat string) bool {
	for _, w := range want {
		if fam, ok := strings.CutSuffix(w, ".*"); ok {
			if len(cat) >= len(fam) && strings.EqualFold(cat[:len(fam)], fam) &&
				(len(cat) == len(fam) || cat[len(fam)] == '.') {
				return true
			}
		} else if w == "*" || strings.EqualFold(w, cat) {
			return true
		}
	}
	return false
}

// anyEqual is true when want is empty or holds v (case-insensitive).
func anyEqual(want []string, v string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if strings.EqualFold(w, v) {
			return true
		}
	}
	return false
}

func lowerAll(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// parseWhen reads the --since/--until forms; "" is no bound.
func parseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d.Abs()), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2006-01-02 15:04:05, RFC 3339, 2006-01-02) or a duration (90m)", s)
}
