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

// shape makes messages that differ only in ids and numbers group together:
// GUIDs become <guid> and digit runs become #; the result is cut at n bytes.
func shape(s string, n int) string {
	var b strings.Builder
	var k reqKey
	for i := 0; i < len(s) && b.Len() < n; {
		switch c := s[i]; {
		case i+36 <= len(s) && parseGUID(s[i:i+36], &k):
			b.WriteString("<guid>")
			i += 36
		case c >= '0' && c <= '9':
			b.WriteByte('#')
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
