package snmptrap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MIBs names OIDs from MIB files: just enough of SMIv1/SMIv2 to name traps
// and variable bindings (value assignments of OBJECT IDENTIFIER,
// OBJECT-TYPE, NOTIFICATION-TYPE, TRAP-TYPE, MODULE-IDENTITY, …); types,
// syntax and imports are not interpreted. Names not defined in the files
// but in SNMPv2-SMI and SNMPv2-MIB (the roots, the generic traps,
// sysUpTime, snmpTrapOID, ifIndex …) are built in.
type MIBs struct {
	byName   map[string][]uint32 // "name" and "MODULE::name"
	byOID    map[string]string   // numeric → name (first definition wins)
	Warnings []string            // definitions whose parent no file defines
}

// maxMIBBytes bounds one MIB file (the largest IETF MIBs are ~500 KB).
const maxMIBBytes = 8 << 20

// builtinMIB is what SNMPv2-SMI, RFC1155-SMI and SNMPv2-MIB define that
// traps use (the standard MIB files are not shipped with every system).
var builtinMIB = []struct{ module, name, oid string }{
	{"SNMPv2-SMI", "ccitt", "0"}, {"SNMPv2-SMI", "iso", "1"}, {"SNMPv2-SMI", "joint-iso-ccitt", "2"},
	{"SNMPv2-SMI", "org", "1.3"}, {"SNMPv2-SMI", "dod", "1.3.6"}, {"SNMPv2-SMI", "internet", "1.3.6.1"},
	{"SNMPv2-SMI", "directory", "1.3.6.1.1"}, {"SNMPv2-SMI", "mgmt", "1.3.6.1.2"}, {"SNMPv2-SMI", "mib-2", "1.3.6.1.2.1"},
	{"SNMPv2-SMI", "transmission", "1.3.6.1.2.1.10"}, {"SNMPv2-SMI", "experimental", "1.3.6.1.3"},
	{"SNMPv2-SMI", "private", "1.3.6.1.4"}, {"SNMPv2-SMI", "enterprises", "1.3.6.1.4.1"},
	{"SNMPv2-SMI", "security", "1.3.6.1.5"}, {"SNMPv2-SMI", "snmpV2", "1.3.6.1.6"},
	{"SNMPv2-SMI", "snmpDomains", "1.3.6.1.6.1"}, {"SNMPv2-SMI", "snmpProxys", "1.3.6.1.6.2"},
	{"SNMPv2-SMI", "snmpModules", "1.3.6.1.6.3"}, {"SNMPv2-SMI", "zeroDotZero", "0.0"},
	{"SNMPv2-MIB", "system", "1.3.6.1.2.1.1"}, {"SNMPv2-MIB", "sysDescr", "1.3.6.1.2.1.1.1"},
	{"SNMPv2-MIB", "sysObjectID", "1.3.6.1.2.1.1.2"}, {"SNMPv2-MIB", "sysUpTime", "1.3.6.1.2.1.1.3"},
	{"SNMPv2-MIB", "sysContact", "1.3.6.1.2.1.1.4"}, {"SNMPv2-MIB", "sysName", "1.3.6.1.2.1.1.5"},
	{"SNMPv2-MIB", "sysLocation", "1.3.6.1.2.1.1.6"}, {"SNMPv2-MIB", "snmpMIB", "1.3.6.1.6.3.1"},
	{"SNMPv2-MIB", "snmpMIBObjects", "1.3.6.1.6.3.1.1"}, {"SNMPv2-MIB", "snmpTrap", "1.3.6.1.6.3.1.1.4"},
	{"SNMPv2-MIB", "snmpTrapOID", "1.3.6.1.6.3.1.1.4.1"}, {"SNMPv2-MIB", "snmpTrapEnterprise", "1.3.6.1.6.3.1.1.4.3"},
	{"SNMPv2-MIB", "snmpTraps", "1.3.6.1.6.3.1.1.5"}, {"SNMPv2-MIB", "coldStart", "1.3.6.1.6.3.1.1.5.1"},
	{"SNMPv2-MIB", "warmStart", "1.3.6.1.6.3.1.1.5.2"}, {"IF-MIB", "linkDown", "1.3.6.1.6.3.1.1.5.3"},
	{"IF-MIB", "linkUp", "1.3.6.1.6.3.1.1.5.4"}, {"SNMPv2-MIB", "authenticationFailure", "1.3.6.1.6.3.1.1.5.5"},
	{"IF-MIB", "interfaces", "1.3.6.1.2.1.2"}, {"IF-MIB", "ifTable", "1.3.6.1.2.1.2.2"},
	{"IF-MIB", "ifEntry", "1.3.6.1.2.1.2.2.1"}, {"IF-MIB", "ifIndex", "1.3.6.1.2.1.2.2.1.1"},
	{"IF-MIB", "ifDescr", "1.3.6.1.2.1.2.2.1.2"}, {"IF-MIB", "ifAdminStatus", "1.3.6.1.2.1.2.2.1.7"},
	{"IF-MIB", "ifOperStatus", "1.3.6.1.2.1.2.2.1.8"},
}

// LoadMIBs reads MIB files and folders (every regular file in a folder,
// not recursively). Without paths it returns the built-in names only.
func LoadMIBs(paths ...string) (*MIBs, error) {
	m := &MIBs{byName: map[string][]uint32{zeroRoot: {}}, byOID: map[string]string{}}
	for _, b := range builtinMIB {
		arcs, _ := parseOID(b.oid)
		m.define(b.module, b.name, arcs)
	}
	var defs []mibDef
	var errs []error
	for _, p := range paths {
		files, err := mibFiles(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := readBounded(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			defs = append(defs, ParseMIB(data)...)
		}
	}
	m.resolve(defs)
	return m, errors.Join(errs...)
}

func mibFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("mibs: %w (name MIB files or folders that exist)", err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("mibs: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(p, e.Name()))
		}
	}
	return out, nil
}

func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mibs: %w", err)
	}
	if fi.Size() > maxMIBBytes {
		return nil, fmt.Errorf("mibs: %s: %d bytes, over the %d MiB a MIB file may have", path, fi.Size(), maxMIBBytes>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mibs: %w", err)
	}
	return data, nil
}

// mibDef is one value assignment: name ::= { parent arcs… }.
type mibDef struct {
	module, name, parent string
	arcs                 []uint32
}

// resolve gives every definition its numeric OID, parent first, over as
// many passes as the chain of parents needs.
func (m *MIBs) resolve(defs []mibDef) {
	for progress := true; progress && len(defs) > 0; {
		progress = false
		rest := defs[:0]
		for _, d := range defs {
			base, ok := m.lookup(d.module, d.parent)
			if !ok {
				rest = append(rest, d)
				continue
			}
			full := append(slices.Clip(base), d.arcs...)
			if len(full) > maxArcs {
				continue
			}
			m.define(d.module, d.name, full)
			progress = true
		}
		defs = rest
	}
	for _, d := range defs {
		m.Warnings = append(m.Warnings, fmt.Sprintf("%s::%s: parent %s is defined in no MIB given", d.module, d.name, d.parent))
	}
}

func (m *MIBs) define(module, name string, arcs []uint32) {
	if _, ok := m.byName[name]; !ok {
		m.byName[name] = arcs
	}
	m.byName[module+"::"+name] = arcs
	if k := oidString(arcs); m.byOID[k] == "" {
		m.byOID[k] = name
	}
}

// lookup prefers the definition of the same module.
func (m *MIBs) lookup(module, name string) ([]uint32, bool) {
	if a, ok := m.byName[module+"::"+name]; ok {
		return a, true
	}
	a, ok := m.byName[name]
	return a, ok
}

// Resolve returns the numeric OID of a name ("linkDown" or
// "IF-MIB::linkDown") or of a numeric OID.
func (m *MIBs) Resolve(s string) (string, bool) {
	s = normOID(s)
	if _, err := parseOID(s); err == nil {
		return s, true
	}
	if a, ok := m.byName[s]; ok {
		return oidString(a), true
	}
	return "", false
}

// Name returns the name of a numeric OID: the name defined for it, or the
// name of its longest named prefix with the rest as a suffix
// (ifIndex.2); "" when nothing names it.
func (m *MIBs) Name(oid string) string {
	oid = normOID(oid)
	if n := m.byOID[oid]; n != "" {
		return n
	}
	for i := strings.LastIndexByte(oid, '.'); i > 0; i = strings.LastIndexByte(oid[:i], '.') {
		if n := m.byOID[oid[:i]]; n != "" && strings.Count(oid[:i], ".") >= 5 {
			return n + oid[i:]
		}
	}
	return ""
}

// ParseMIB extracts the value assignments of one MIB file. It never fails:
// what it cannot read is skipped (a MIB is documentation as much as code).
func ParseMIB(data []byte) []mibDef {
	toks := tokenizeMIB(data)
	var out []mibDef
	module := ""
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i+2 < len(toks) && toks[i+1] == "DEFINITIONS" && isIdent(t) {
			module = t
			continue
		}
		if !isIdent(t) || !isLower(t[0]) || i+1 >= len(toks) {
			continue
		}
		next := toks[i+1]
		switch {
		case next == "OBJECT" && i+2 < len(toks) && toks[i+2] == "IDENTIFIER",
			next == "OBJECT-TYPE", next == "NOTIFICATION-TYPE", next == "MODULE-IDENTITY",
			next == "OBJECT-IDENTITY", next == "OBJECT-GROUP", next == "NOTIFICATION-GROUP",
			next == "MODULE-COMPLIANCE", next == "AGENT-CAPABILITIES":
			j := assignment(toks, i+2)
			if j < 0 {
				continue
			}
			if d, ok := oidValue(toks, j); ok {
				d.module, d.name = module, t
				out = append(out, d)
			}
			i = j
		case next == "TRAP-TYPE":
			if d, ok := trapType(toks, i+2); ok {
				d.module, d.name = module, t
				out = append(out, d)
			}
		}
	}
	return out
}

// assignment returns the index after the next "::=" of a macro body, or -1
// when another definition starts first.
func assignment(toks []string, i int) int {
	for ; i < len(toks) && i < 4096; i++ {
		if toks[i] == "::=" {
			return i + 1
		}
	}
	return -1
}

// oidValue reads { parent n … } where each component after the parent is
// a number or name(number).
func oidValue(toks []string, i int) (mibDef, bool) {
	if i+2 >= len(toks) || toks[i] != "{" {
		return mibDef{}, false
	}
	d := mibDef{parent: toks[i+1]}
	if v, err := strconv.ParseUint(d.parent, 10, 32); err == nil {
		// A value starting with a number: { 1 3 6 … } is rooted at nothing.
		d.parent, d.arcs = "", []uint32{uint32(v)}
	} else if !isIdent(d.parent) {
		return mibDef{}, false
	}
	for j := i + 2; j < len(toks) && len(d.arcs) <= maxArcs; j++ {
		switch t := toks[j]; {
		case t == "}":
			if d.parent == "" {
				d.parent = zeroRoot
			}
			return d, true
		case t == "(":
			// name(number): the number names the arc the name stands
			// for; the arc itself is counted by the name.
			for j < len(toks) && toks[j] != ")" {
				j++
			}
		case isIdent(t):
			// name(number) after the parent: its number is the arc
			// (the parentheses are skipped next).
			if j+2 >= len(toks) || toks[j+1] != "(" {
				return mibDef{}, false
			}
			v, err := strconv.ParseUint(toks[j+2], 10, 32)
			if err != nil {
				return mibDef{}, false
			}
			d.arcs = append(d.arcs, uint32(v))
		default:
			v, err := strconv.ParseUint(t, 10, 32)
			if err != nil {
				return mibDef{}, false
			}
			d.arcs = append(d.arcs, uint32(v))
		}
	}
	return mibDef{}, false
}

// zeroRoot is an internal name for the empty OID prefix, the parent of a
// value written with numbers only ({ 1 3 6 1 }).
const zeroRoot = "\x00root"

// trapType reads an SMIv1 TRAP-TYPE: ENTERPRISE e … ::= n is e.0.n, the
// SNMPv2 form of a v1 trap (RFC 3584 §3.2).
func trapType(toks []string, i int) (mibDef, bool) {
	if i+1 >= len(toks) || toks[i] != "ENTERPRISE" || !isIdent(toks[i+1]) {
		return mibDef{}, false
	}
	ent := toks[i+1]
	j := assignment(toks, i+2)
	if j < 0 || j >= len(toks) {
		return mibDef{}, false
	}
	v, err := strconv.ParseUint(toks[j], 10, 32)
	if err != nil {
		return mibDef{}, false
	}
	return mibDef{parent: ent, arcs: []uint32{0, uint32(v)}}, true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// tokenizeMIB splits ASN.1 text into identifiers, numbers, "::=" and single
// punctuation, dropping comments (-- to the end of the line or the next --)
// and quoted strings (DESCRIPTION texts may hold anything).
func tokenizeMIB(data []byte) []string {
	var toks []string
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '-' && i+1 < len(data) && data[i+1] == '-':
			i += 2
			for i < len(data) && data[i] != '\n' {
				if data[i] == '-' && i+1 < len(data) && data[i+1] == '-' {
					i += 2
					break
				}
				i++
			}
		case c == '"':
			i++
			for i < len(data) && data[i] != '"' {
				i++
			}
			i++
			toks = append(toks, `""`)
		case c == ':' && i+2 < len(data) && data[i+1] == ':' && data[i+2] == '=':
			toks = append(toks, "::=")
			i += 3
		case isLetter(c) || isDigit(c):
			j := i + 1
			for j < len(data) && (isLetter(data[j]) || isDigit(data[j]) || data[j] == '_' ||
				data[j] == '-' && !(j+1 < len(data) && data[j+1] == '-')) {
				j++
			}
			toks = append(toks, string(data[i:j]))
			i = j
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		default:
			toks = append(toks, string(data[i:i+1]))
			i++
		}
	}
	return toks
}
