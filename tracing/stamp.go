package tracing

import "time"

// text lets the timestamp scanner run over a line held as bytes (reader,
// IsRecordStart) or as a string (the record parser) without copying.
type text interface{ ~string | ~[]byte }

// IsRecordStart reports whether line (without its line ending) is the head of
// a record: it begins with `[` and the text up to `]` is a timestamp
// `yyyy-MM-dd HH:mm:ss` with an optional `.` and one or more fraction digits.
// Message text containing `|` or `Level: Error` never starts a record.
func IsRecordStart(line []byte) bool {
	_, _, ok := scanStamp(line)
	return ok
}

// stamp holds a scanned timestamp's fields; building the time.Time is left
// to the caller that needs it (IsRecordStart runs once per line and does not).
type stamp struct{ year, month, day, hour, minute, sec, nsec int }

// parseStamp parses the `[timestamp]` that opens a head line. It returns the
// time and the index just after `]`.
func parseStamp[T text](b T, loc *time.Location) (time.Time, int, bool) {
	st, end, ok := scanStamp(b)
	if !ok {
		return time.Time{}, 0, false
	}
	return time.Date(st.year, time.Month(st.month), st.day, st.hour, st.minute, st.sec, st.nsec, loc), end, true
}

// scanStamp validates the `[timestamp]` and returns its fields and the index
// just after `]`.
func scanStamp[T text](b T) (stamp, int, bool) {
	// [yyyy-MM-dd HH:mm:ss] is 21 bytes at minimum.
	if len(b) < 21 || b[0] != '[' {
		return stamp{}, 0, false
	}
	year, ok1 := digits(b, 1, 4)
	month, ok2 := digits(b, 6, 2)
	day, ok3 := digits(b, 9, 2)
	if !ok1 || !ok2 || !ok3 || b[5] != '-' || b[8] != '-' {
		return stamp{}, 0, false
	}
	// One or more spaces between date and time (CRMLogObjectifier: \s+).
	i := 11
	if b[i] != ' ' && b[i] != '\t' {
		return stamp{}, 0, false
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if len(b) < i+9 {
		return stamp{}, 0, false
	}
	hour, ok4 := digits(b, i, 2)
	minute, ok5 := digits(b, i+3, 2)
	sec, ok6 := digits(b, i+6, 2)
	if !ok4 || !ok5 || !ok6 || b[i+2] != ':' || b[i+5] != ':' {
		return stamp{}, 0, false
	}
	i += 8
	nsec := 0
	if b[i] == '.' {
		i++
		start := i
		scale := 100_000_000
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return stamp{}, 0, false
		}
	}
	if i >= len(b) || b[i] != ']' {
		return stamp{}, 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return stamp{}, 0, false
	}
	return stamp{year, month, day, hour, minute, sec, nsec}, i + 1, true
}

// digits parses n decimal digits at b[at:].
func digits[T text](b T, at, n int) (int, bool) {
	v := 0
	for k := at; k < at+n; k++ {
		c := b[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
