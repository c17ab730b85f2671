package snmptrap

import (
	"errors"
	"strconv"
	"strings"
)

// maxArcs bounds an OID (RFC 2578 allows 128 sub-identifiers).
const maxArcs = 128

// parseOID reads a numeric OID, with or without the leading dot.
func parseOID(s string) ([]uint32, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	parts := strings.Split(s, ".")
	if len(parts) > maxArcs {
		return nil, errors.New("OID longer than 128 sub-identifiers")
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, errors.New("OID sub-identifier is not a number")
		}
		out[i] = uint32(v)
	}
	return out, nil
}

// normOID is the numeric form without the leading dot gosnmp writes (names
// stay as they are).
func normOID(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), ".") }

func oidString(arcs []uint32) string {
	var b strings.Builder
	for i, a := range arcs {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// isName reports whether s looks like a MIB name: an identifier, optionally
// qualified by its module (IF-MIB::linkDown).
func isName(s string) bool {
	mod, name, qualified := strings.Cut(s, "::")
	if qualified && !isIdent(mod) {
		return false
	}
	if !qualified {
		name = s
	}
	return isIdent(name)
}

func isIdent(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
