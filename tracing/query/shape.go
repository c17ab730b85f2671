package query

import (
	"encoding/hex"
	"strings"
)

// parseGUID reads a 36-character GUID (8-4-4-4-12 hex) into k.
func parseGUID(s string, k *reqKey) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return false
		}
		k[j] = hi<<4 | lo
		j++
	}
	return j == 16
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// formatGUID writes k back in lower-case 8-4-4-4-12 form.
func formatGUID(k reqKey) string {
	h := hex.EncodeToString(k[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// shape makes messages that differ only in ids and counts group together
// while keeping what identifies the error, so "top errors" still tells one
// failure from another:
//
//   - GUIDs become <guid>;
//   - hex codes stay (HRESULTs such as 0x80040216, SqlException 0x80131904);
//   - digits inside a name stay (CRMSQL01, Win32Exception, w3wp);
//   - an error number stays: the number after "error", "number", "code",
//     "errorcode", "msg" or "hresult" (SQL error 1205, ErrorCode: -2147220970,
//     Msg 1205) and a #NNNNN at the very start (the E-mail Router's #61042);
//   - a token of six or more hex digits that starts with a digit is an id
//     (a reference number #15B34B57) and becomes <id>;
//   - any other digit run (ids, counters, durations, thread numbers) becomes #.
//
// The result is cut at n bytes.
func shape(s string, n int) string {
	var b strings.Builder
	var k reqKey
	for i := 0; i < len(s) && b.Len() < n; {
		c := s[i]
		switch {
		case i+36 <= len(s) && parseGUID(s[i:i+36], &k):
			b.WriteString("<guid>")
			i += 36
		case !isDigit(c):
			b.WriteByte(c)
			i++
		case i > 0 && isNameByte(s[i-1]): // CRMSQL01, Win32Exception
			j := alnumEnd(s, i)
			b.WriteString(s[i:j])
			i = j
		case c == '0' && i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && isHex(s[i+2]): // HRESULT
			j := hexEnd(s, i+2)
			b.WriteString(s[i:j])
			i = j
		default:
			j := digitEnd(s, i)
			if t := alnumEnd(s, i); t-i >= 6 && allHex(s[i:t]) && t > j {
				b.WriteString("<id>") // an id in hex: 15B34B57
				i = t
				continue
			}
			if errorNumberBefore(s, i) {
				b.WriteString(s[i:j])
			} else {
				b.WriteByte('#')
			}
			i = j
		}
	}
	return b.String()
}

// errorNumberWords precede a number that identifies an error.
var errorNumberWords = []string{"error", "number", "code", "errorcode", "msg", "hresult", "errno"}

// errorNumberBefore reports whether the number at i follows one of
// errorNumberWords (separated by spaces, ':', '=', '-' or '#'), or is the
// #NNNNN that opens the message.
func errorNumberBefore(s string, i int) bool {
	j := i
	for j > 0 && strings.IndexByte(" :=-#", s[j-1]) >= 0 {
		j--
	}
	if j == 0 {
		return i > 0 && s[i-1] == '#' // "#61042 - An error occurred …"
	}
	w := j
	for w > 0 && isLetter(s[w-1]) {
		w--
	}
	word := s[w:j]
	for _, e := range errorNumberWords {
		if strings.EqualFold(word, e) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHex(c byte) bool    { _, ok := unhex(c); return ok }

// isNameByte is a byte that can precede digits inside a name.
func isNameByte(c byte) bool { return isLetter(c) || c == '_' }

func digitEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func hexEnd(s string, i int) int {
	for i < len(s) && isHex(s[i]) {
		i++
	}
	return i
}

func alnumEnd(s string, i int) int {
	for i < len(s) && (isDigit(s[i]) || isNameByte(s[i])) {
		i++
	}
	return i
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}
