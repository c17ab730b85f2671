package snmptrap

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"crmwatch/secret"
)

// Reasons a packet is refused: the label values of
// crmwatch_snmptrap_rejected_total.
const (
	ReasonMalformed        = "malformed"         // not a decodable SNMP message
	ReasonUnknownCommunity = "unknown_community" // v1/v2c with a community not configured
	ReasonUnknownUser      = "unknown_user"      // v3 user name not configured
	ReasonUnknownEngine    = "unknown_engine_id" // v3 user known, but not from this engine id
	ReasonAuthentication   = "authentication"    // v3 digest or decryption failed (wrong keys)
	ReasonSecurityLevel    = "security_level"    // v3 below the user's level (unauthenticated, or clear text for a privacy user)
	ReasonUnsupported      = "unsupported"       // another version or security model, a v3 inform
	ReasonNotATrap         = "not_a_trap"        // a request or response PDU sent to the trap port
	ReasonOverload         = "overload"          // read but dropped undecoded: decoding fell behind
)

// Reasons lists every reason, for pre-initialised metrics.
var Reasons = []string{ReasonMalformed, ReasonUnknownCommunity, ReasonUnknownUser, ReasonUnknownEngine,
	ReasonAuthentication, ReasonSecurityLevel, ReasonUnsupported, ReasonNotATrap, ReasonOverload}

// Trap is one accepted trap or inform.
type Trap struct {
	Time     time.Time `json:"time"`
	Version  string    `json:"version"` // "1", "2c" or "3"
	Source   string    `json:"source"`  // sender address:port
	Inform   bool      `json:"inform,omitempty"`
	User     string    `json:"user,omitempty"`      // v3 user
	EngineID string    `json:"engine_id,omitempty"` // v3 sender engine id, hex
	// TrapOID is the SNMPv2 trap OID (snmpTrapOID.0); for a v1 trap it is
	// derived as RFC 3584 §3.1 does (generic traps → snmpTraps.n+1,
	// enterprise-specific → enterprise.0.specific).
	TrapOID  string `json:"trap_oid"`
	TrapName string `json:"trap_name,omitempty"` // from the mappings or MIBs
	// Uptime is the sender's sysUpTime in hundredths of a second.
	Uptime uint64 `json:"uptime"`
	// Enterprise and AgentAddress are the v1 header fields.
	Enterprise   string    `json:"enterprise,omitempty"`
	AgentAddress string    `json:"agent_address,omitempty"`
	Varbinds     []Varbind `json:"varbinds"`
}

// Varbind is one variable binding, its value as text.
type Varbind struct {
	OID   string `json:"oid"`
	Name  string `json:"name,omitempty"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Well-known OIDs of SNMPv2 notifications.
const (
	oidSysUpTime = "1.3.6.1.2.1.1.3.0"
	oidTrapOID   = "1.3.6.1.6.3.1.1.4.1.0"
	oidSnmpTraps = "1.3.6.1.6.3.1.1.5"
)

// Credentials are what a Decoder accepts.
type Credentials struct {
	Communities []secret.Value
	Users       []User
}

// Decoder turns packets into traps, checking community or USM
// credentials first. It is not safe for concurrent use (gosnmp's
// parameters are not): one per reading goroutine.
type Decoder struct {
	communities [][]byte
	v2          *gosnmp.GoSNMP
	users       map[string][]*v3user
	scratch     []byte
}

type v3user struct {
	engines map[string]bool // nil: any engine
	priv    bool
	params  *gosnmp.GoSNMP
	// byEngine holds parameters whose keys are already localized to an
	// engine that authenticated before, so its next traps skip key
	// localization; bounded, cleared when full.
	byEngine map[string]*gosnmp.GoSNMP
}

// maxEngineCache bounds the localized keys kept per user.
const maxEngineCache = 1024

// paramsFor returns the parameters for engine: cached localized ones, or
// the user's own (which localize per packet).
func (u *v3user) paramsFor(engine string) *gosnmp.GoSNMP {
	if p, ok := u.byEngine[engine]; ok {
		return p
	}
	return u.params
}

// remember keeps parameters localized to an engine that authenticated.
func (u *v3user) remember(engine string) {
	if _, ok := u.byEngine[engine]; ok {
		return
	}
	if u.byEngine == nil || len(u.byEngine) >= maxEngineCache {
		u.byEngine = map[string]*gosnmp.GoSNMP{}
	}
	base := u.params.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	u.byEngine[engine] = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: u.params.MsgFlags,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName: base.UserName, AuthoritativeEngineID: engine,
			AuthenticationProtocol: base.AuthenticationProtocol, AuthenticationPassphrase: base.AuthenticationPassphrase,
			PrivacyProtocol: base.PrivacyProtocol, PrivacyPassphrase: base.PrivacyPassphrase,
		}}
}

// NewDecoder builds a decoder; it reveals the secrets once, here.
func NewDecoder(c Credentials) (*Decoder, error) {
	d := &Decoder{v2: &gosnmp.GoSNMP{Version: gosnmp.Version2c}, users: map[string][]*v3user{}}
	for _, v := range c.Communities {
		d.communities = append(d.communities, []byte(v.Reveal()))
	}
	for _, u := range c.Users {
		if errs := u.validate(); len(errs) > 0 {
			return nil, fmt.Errorf("v3 user %q: %v", u.Name, errs[0])
		}
		vu := &v3user{priv: privProtocol(u.PrivProtocol) != gosnmp.NoPriv}
		engine := "" // keys are localized to the packet's engine unless fixed here
		for _, e := range u.EngineIDs {
			id, _ := parseEngineID(e)
			if vu.engines == nil {
				vu.engines = map[string]bool{}
			}
			vu.engines[id] = true
			if len(u.EngineIDs) == 1 {
				engine = id
			}
		}
		usm := &gosnmp.UsmSecurityParameters{
			UserName:                 u.Name,
			AuthoritativeEngineID:    engine,
			AuthenticationProtocol:   authProtocol(u.AuthProtocol),
			AuthenticationPassphrase: u.AuthKey.Reveal(),
			PrivacyProtocol:          privProtocol(u.PrivProtocol),
			PrivacyPassphrase:        u.PrivKey.Reveal(),
		}
		flags := gosnmp.AuthNoPriv
		if vu.priv {
			flags = gosnmp.AuthPriv
		}
		vu.params = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: usm}
		d.users[u.Name] = append(d.users[u.Name], vu)
	}
	return d, nil
}

func authProtocol(s string) gosnmp.SnmpV3AuthProtocol {
	switch strings.ToLower(s) {
	case "md5":
		return gosnmp.MD5
	case "sha":
		return gosnmp.SHA
	case "sha224":
		return gosnmp.SHA224
	case "sha256":
		return gosnmp.SHA256
	case "sha384":
		return gosnmp.SHA384
	case "sha512":
		return gosnmp.SHA512
	}
	return gosnmp.NoAuth
}

func privProtocol(s string) gosnmp.SnmpV3PrivProtocol {
	switch strings.ToLower(s) {
	case "des":
		return gosnmp.DES
	case "aes":
		return gosnmp.AES
	case "aes192":
		return gosnmp.AES192
	case "aes256":
		return gosnmp.AES256
	case "aes192c":
		return gosnmp.AES192C
	case "aes256c":
		return gosnmp.AES256C
	}
	return gosnmp.NoPriv
}

// Decode checks and decodes one packet. It returns the trap, or "" and
// the reason it was refused; it never panics on any input (FuzzDecode).
// pkt may be modified.
func (d *Decoder) Decode(pkt []byte, from netip.AddrPort, now time.Time) (Trap, *gosnmp.SnmpPacket, string) {
	h, err := parseHeader(pkt)
	if err != nil {
		return Trap{}, nil, ReasonMalformed
	}
	var p *gosnmp.SnmpPacket
	var reason string
	switch h.version {
	case int(gosnmp.Version1), int(gosnmp.Version2c):
		p, reason = d.community(h, pkt)
	case int(gosnmp.Version3):
		p, reason = d.usm(h, pkt)
	default:
		return Trap{}, nil, ReasonUnsupported
	}
	if reason != "" {
		return Trap{}, nil, reason
	}
	t, reason := trapOf(p, h)
	if reason != "" {
		return Trap{}, nil, reason
	}
	t.Time, t.Source = now, from.String()
	return t, p, ""
}

func (d *Decoder) community(h header, pkt []byte) (*gosnmp.SnmpPacket, string) {
	ok := false
	for _, c := range d.communities {
		if subtle.ConstantTimeCompare(c, h.community) == 1 {
			ok = true
		}
	}
	if !ok {
		return nil, ReasonUnknownCommunity
	}
	p, err := safeUnmarshal(d.v2, pkt)
	if err != nil {
		return nil, ReasonMalformed
	}
	return p, ""
}

func (d *Decoder) usm(h header, pkt []byte) (*gosnmp.SnmpPacket, string) {
	if h.secModel != int(gosnmp.UserSecurityModel) {
		return nil, ReasonUnsupported
	}
	cands := d.users[string(h.userName)]
	if len(cands) == 0 {
		return nil, ReasonUnknownUser
	}
	reason := ReasonUnknownEngine
	for _, u := range cands {
		if u.engines != nil && !u.engines[string(h.engineID)] {
			continue
		}
		if h.msgFlags&flagAuth == 0 || u.priv && h.msgFlags&flagPriv == 0 {
			reason = ReasonSecurityLevel
			continue
		}
		// gosnmp blanks the digest in place: each attempt gets a copy.
		d.scratch = append(d.scratch[:0], pkt...)
		p, err := safeUnmarshal(u.paramsFor(string(h.engineID)), d.scratch)
		if err != nil {
			reason = ReasonAuthentication
			continue
		}
		u.remember(string(h.engineID))
		return p, ""
	}
	return nil, reason
}

// safeUnmarshal runs gosnmp's decoder; a panic inside it (a decoder bug
// on hostile input) is a malformed packet, never a crashed listener.
func safeUnmarshal(x *gosnmp.GoSNMP, pkt []byte) (p *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("gosnmp panicked: %v", r)
		}
	}()
	return x.UnmarshalTrap(pkt, true)
}

// trapOf reads the trap out of a decoded packet.
func trapOf(p *gosnmp.SnmpPacket, h header) (Trap, string) {
	var t Trap
	switch p.PDUType {
	case gosnmp.Trap:
		if p.Version != gosnmp.Version1 {
			return t, ReasonMalformed
		}
		t.Version = "1"
		t.Enterprise = normOID(p.Enterprise)
		t.AgentAddress = p.AgentAddress
		t.Uptime = uint64(p.Timestamp)
		if p.GenericTrap >= 0 && p.GenericTrap < 6 {
			t.TrapOID = oidSnmpTraps + "." + strconv.Itoa(p.GenericTrap+1)
		} else {
			t.TrapOID = t.Enterprise + ".0." + strconv.Itoa(p.SpecificTrap)
		}
		t.Varbinds = varbinds(p.Variables)
		return t, ""
	case gosnmp.SNMPv2Trap, gosnmp.InformRequest:
	default:
		return t, ReasonNotATrap
	}
	switch p.Version {
	case gosnmp.Version2c:
		t.Version = "2c"
	case gosnmp.Version3:
		t.Version = "3"
		if p.PDUType == gosnmp.InformRequest {
			// A v3 inform needs this receiver to be the authoritative
			// engine (discovery, time window): not supported.
			return t, ReasonUnsupported
		}
		t.User = string(h.userName)
		t.EngineID = hex.EncodeToString(h.engineID)
	default:
		return t, ReasonMalformed
	}
	t.Inform = p.PDUType == gosnmp.InformRequest
	vbs := p.Variables
	// RFC 3416 §4.2.6: sysUpTime.0, then snmpTrapOID.0, then the rest.
	if len(vbs) > 0 && normOID(vbs[0].Name) == oidSysUpTime {
		t.Uptime = number(vbs[0].Value)
		vbs = vbs[1:]
	}
	if len(vbs) == 0 || normOID(vbs[0].Name) != oidTrapOID {
		return t, ReasonMalformed
	}
	oid, ok := vbs[0].Value.(string)
	if !ok {
		return t, ReasonMalformed
	}
	t.TrapOID = normOID(oid)
	t.Varbinds = varbinds(vbs[1:])
	return t, ""
}

// maxValueBytes bounds one rendered variable-binding value.
const maxValueBytes = 4096

func varbinds(pdus []gosnmp.SnmpPDU) []Varbind {
	out := make([]Varbind, 0, len(pdus))
	for _, v := range pdus {
		out = append(out, Varbind{OID: normOID(v.Name), Type: typeName(v.Type), Value: valueText(v)})
	}
	return out
}

func typeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.Integer:
		return "integer"
	case gosnmp.OctetString:
		return "octets"
	case gosnmp.ObjectIdentifier:
		return "oid"
	case gosnmp.IPAddress:
		return "ipaddress"
	case gosnmp.Counter32:
		return "counter32"
	case gosnmp.Gauge32:
		return "gauge32"
	case gosnmp.TimeTicks:
		return "timeticks"
	case gosnmp.Counter64:
		return "counter64"
	case gosnmp.Null:
		return "null"
	case gosnmp.Opaque, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		return "opaque"
	}
	return strings.ToLower(t.String())
}

func valueText(v gosnmp.SnmpPDU) string {
	var s string
	switch x := v.Value.(type) {
	case nil:
		return ""
	case []byte:
		if utf8.Valid(x) && printable(x) {
			s = string(x)
		} else {
			s = "0x" + hex.EncodeToString(x)
		}
	case string:
		s = normOID(x)
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > maxValueBytes {
		s = s[:maxValueBytes]
	}
	return s
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func number(v any) uint64 {
	switch x := v.(type) {
	case uint32:
		return uint64(x)
	case uint:
		return uint64(x)
	case uint64:
		return x
	case int:
		if x >= 0 {
			return uint64(x)
		}
	}
	return 0
}
