package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSince reads a window such as 30d, 90d or 36h (Go durations plus
// whole days); it must be positive and at most five years.
func ParseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > 5*365*24*time.Hour {
		return 0, fmt.Errorf("since %q: want a positive duration up to five years, such as 30d, 90d or 36h", s)
	}
	return d, nil
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	}
	return "application/json"
}
