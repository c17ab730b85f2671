package api

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"crmwatch/store"
)

// DefaultAuditLimit is how many audit entries GET /api/v1/audit returns
// unless limit says otherwise.
const DefaultAuditLimit = 100

// ParseAuditFilter reads the query of GET /api/v1/audit: since (RFC 3339
// time or a duration before now such as 24h or 7d), actor (exact operator
// name) and limit (1 to MaxAlertLimit). Unknown parameters are errors, so a
// typo never silently widens the result.
func ParseAuditFilter(q url.Values, now time.Time) (store.AuditFilter, error) {
	f := store.AuditFilter{Limit: DefaultAuditLimit}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		v := strings.TrimSpace(vs[len(vs)-1])
		switch name {
		case "since":
			t, err := ParseSince(v, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("parameter since: %w", err))
			}
			f.Since = t
		case "actor":
			f.Actor = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxAlertLimit {
				errs = append(errs, fmt.Errorf("parameter limit: %q is not a number from 1 to %d", v, MaxAlertLimit))
			}
			f.Limit = n
		default:
			errs = append(errs, fmt.Errorf("unknown parameter %q (want since, actor or limit)", name))
		}
	}
	return f, errors.Join(errs...)
}

// ParseSince reads a point in time as operators write it: an RFC 3339 time
// (2026-11-21T23:00:00+01:00) or a duration before now (90m, 24h, 7d).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseAgo(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-21T23:00:00Z) nor a duration such as 90m, 24h or 7d", s)
	}
	return now.Add(-d), nil
}

// parseAgo is time.ParseDuration plus whole days ("7d").
func parseAgo(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
