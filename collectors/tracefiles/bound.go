package tracefiles

import (
	"unicode/utf8"

	"crmwatch/event"
)

// An event's text is bounded so one event always fits a transport message
// (512 KiB by default, as JSON): each field other than the message at
// maxFieldBytes, the message at what maxEventBytes leaves. A record whose
// head line alone is megabytes (an operation or message written on the
// head line) is then shipped cut and marked truncated, like a record over
// max_record_bytes, instead of being refused by the transport.
const (
	maxFieldBytes = 32 << 10
	maxEventBytes = 256 << 10
)

// boundEvent cuts ev's text to the bounds and marks it truncated.
func boundEvent(ev *event.Event) {
	cut := false
	used := 0
	for k, v := range ev.Fields {
		if len(v) > maxFieldBytes {
			ev.Fields[k], cut = cutUTF8(v, maxFieldBytes), true
		}
		used += len(k) + len(ev.Fields[k])
	}
	if room := max(maxEventBytes-used, 0); len(ev.Message) > room {
		ev.Message, cut = cutUTF8(ev.Message, room), true
	}
	if cut {
		if ev.Fields == nil {
			ev.Fields = map[string]string{}
		}
		ev.Fields["truncated"] = "true"
	}
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
