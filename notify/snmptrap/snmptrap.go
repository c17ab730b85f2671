// Package snmptrap is the SNMP trap notification receiver: northbound
// traps to a network management system, SNMPv2c (community) or SNMPv3
// authPriv (USM), one trap per alert change, defined by the CRMWATCH-MIB
// shipped in mibs/ (net-snmp loads it with -M +DIR -m +CRMWATCH-MIB).
package snmptrap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/secret"
)

// OIDs of CRMWATCH-MIB (mibs/CRMWATCH-MIB.txt).
const (
	OIDEnterprise  = "1.3.6.1.4.1.61513"
	OIDFiring      = OIDEnterprise + ".0.1"
	OIDResolved    = OIDEnterprise + ".0.2"
	oidObjects     = OIDEnterprise + ".1."
	oidSnmpTrapOID = "1.3.6.1.6.3.1.1.4.1.0"
	oidSysUpTime   = "1.3.6.1.2.1.1.3.0"
)

// Object numbers under crmwatchObjects, in the traps' order.
const (
	objID = iota + 1
	objRule
	objSeverity
	objState
	objHost
	objOrganization
	objSummary
	objChange
	objConsoleURL
)

// maxText is CrmwatchText's size limit.
const maxText = 1024

// Config of an SNMP trap receiver (the snmp_trap section of a receiver).
type Config struct {
	// Target is udp:HOST:PORT (or HOST:PORT; the port defaults to 162).
	Target string `yaml:"target"`
	// Version is v2c (default) or v3 (authPriv only).
	Version string `yaml:"version"`
	// Community is the v2c community (required for v2c).
	Community secret.Value `yaml:"community"`
	// User, protocols and passwords are the v3 USM settings. AuthProtocol
	// is SHA (default), SHA224, SHA256, SHA384, SHA512 or MD5;
	// PrivProtocol AES (default), AES192, AES256 or DES. Passwords need at
	// least 8 characters.
	User         string       `yaml:"user"`
	AuthProtocol string       `yaml:"auth_protocol"`
	AuthPassword secret.Value `yaml:"auth_password"`
	PrivProtocol string       `yaml:"priv_protocol"`
	PrivPassword secret.Value `yaml:"priv_password"`
	// EngineID is crmwatch's SNMPv3 engine id in hex (the sender of a
	// trap is the authoritative engine; the manager's createUser names
	// it). Default DefaultEngineID.
	EngineID string `yaml:"engine_id"`
	// Timeout bounds sending one trap (default 5s).
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults (the one source of them).
const (
	DefaultPort    = 162
	DefaultTimeout = 5 * time.Second
	// DefaultEngineID: RFC 3411 format 4 (text) under net-snmp's
	// enterprise 8072, text "crmwatch".
	DefaultEngineID = "80001f880463726d7761746368"
)

// WithDefaults fills what is not set.
func (c Config) WithDefaults() Config {
	if c.Version == "" {
		c.Version = "v2c"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Version == "v3" {
		if c.AuthProtocol == "" {
			c.AuthProtocol = "SHA"
		}
		if c.PrivProtocol == "" {
			c.PrivProtocol = "AES"
		}
		if c.EngineID == "" {
			c.EngineID = DefaultEngineID
		}
	}
	return c
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256}

// ParseTarget reads udp:HOST:PORT or HOST:PORT.
func ParseTarget(s string) (host string, port int, err error) {
	rest := strings.TrimPrefix(s, "udp:")
	if strings.Contains(rest, "://") || strings.HasPrefix(s, "tcp:") {
		return "", 0, fmt.Errorf("target %q: only udp:HOST:PORT is supported", s)
	}
	h, p, err := net.SplitHostPort(rest)
	if err != nil {
		if strings.Count(rest, ":") == 0 && rest != "" {
			return rest, DefaultPort, nil
		}
		return "", 0, fmt.Errorf("target %q: want udp:HOST:PORT, e.g. udp:nms.example:162", s)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 || h == "" {
		return "", 0, fmt.Errorf("target %q: want udp:HOST:PORT with a port from 1 to 65535", s)
	}
	return h, n, nil
}

// Validate reports every problem at once; secrets are never repeated.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Target == "" {
		errs = append(errs, errors.New("target: required (udp:HOST:PORT, e.g. udp:nms.example:162)"))
	} else if _, _, err := ParseTarget(c.Target); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	switch c.Version {
	case "v2c":
		if c.Community.IsZero() {
			errs = append(errs, errors.New("community: required for version v2c"))
		}
	case "v3":
		if c.User == "" {
			errs = append(errs, errors.New("user: required for version v3"))
		}
		if _, ok := authProtocols[strings.ToUpper(c.AuthProtocol)]; !ok {
			errs = append(errs, fmt.Errorf("auth_protocol %q: want SHA, SHA224, SHA256, SHA384, SHA512 or MD5", c.AuthProtocol))
		}
		if _, ok := privProtocols[strings.ToUpper(c.PrivProtocol)]; !ok {
			errs = append(errs, fmt.Errorf("priv_protocol %q: want AES, AES192, AES256 or DES", c.PrivProtocol))
		}
		if len(c.AuthPassword.Reveal()) < 8 {
			errs = append(errs, errors.New("auth_password: required for v3 (authPriv), at least 8 characters"))
		}
		if len(c.PrivPassword.Reveal()) < 8 {
			errs = append(errs, errors.New("priv_password: required for v3 (authPriv), at least 8 characters"))
		}
		if b, err := hex.DecodeString(strings.TrimPrefix(c.EngineID, "0x")); err != nil || len(b) < 5 || len(b) > 32 {
			errs = append(errs, fmt.Errorf("engine_id %q: want 5 to 32 bytes in hex", c.EngineID))
		}
	default:
		errs = append(errs, fmt.Errorf("version %q: want v2c or v3", c.Version))
	}
	return errors.Join(errs...)
}

// Receiver sends traps to one manager. One gosnmp value is not safe for
// concurrent use, so sends are serialised.
type Receiver struct {
	name  string
	cfg   Config
	mu    sync.Mutex
	conn  *gosnmp.GoSNMP
	start time.Time
}

// New builds a receiver from a validated config.
func New(name string, c Config) *Receiver {
	return &Receiver{name: name, cfg: c.WithDefaults(), start: time.Now()}
}

// Name implements notify.Receiver.
func (r *Receiver) Name() string { return r.name }

// Kind implements notify.Receiver.
func (r *Receiver) Kind() string { return "snmp_trap" }

func (r *Receiver) client() *gosnmp.GoSNMP {
	host, port, _ := ParseTarget(r.cfg.Target)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(port), Transport: "udp", Timeout: r.cfg.Timeout, Retries: 0, MaxOids: 60}
	if r.cfg.Version == "v3" {
		engine, _ := hex.DecodeString(strings.TrimPrefix(r.cfg.EngineID, "0x"))
		g.Version, g.SecurityModel, g.MsgFlags = gosnmp.Version3, gosnmp.UserSecurityModel, gosnmp.AuthPriv
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 r.cfg.User,
			AuthenticationProtocol:   authProtocols[strings.ToUpper(r.cfg.AuthProtocol)],
			AuthenticationPassphrase: r.cfg.AuthPassword.Reveal(),
			PrivacyProtocol:          privProtocols[strings.ToUpper(r.cfg.PrivProtocol)],
			PrivacyPassphrase:        r.cfg.PrivPassword.Reveal(),
			AuthoritativeEngineID:    string(engine),
			AuthoritativeEngineBoots: 1,
			AuthoritativeEngineTime:  uint32(time.Since(r.start).Seconds()), //nolint:gosec // seconds since start fit
		}
	} else {
		g.Version, g.Community = gosnmp.Version2c, r.cfg.Community.Reveal()
	}
	return g
}

// Notify implements notify.Receiver: one trap per notification. Traps are
// not acknowledged, so "sent" means handed to the network; a socket error
// may pass (retry).
func (r *Receiver) Notify(ctx context.Context, ns []notify.Notification) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range ns {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if r.conn == nil {
			g := r.client()
			if err := g.Connect(); err != nil {
				return true, fmt.Errorf("snmp_trap %s: connect to %s: %s", r.name, r.cfg.Target, r.scrub(err))
			}
			r.conn = g
		}
		if r.cfg.Version == "v3" { // the engine time moves on
			if p, ok := r.conn.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
				p.AuthoritativeEngineTime = uint32(time.Since(r.start).Seconds()) //nolint:gosec // seconds since start fit
			}
		}
		if _, err := r.conn.SendTrap(gosnmp.SnmpTrap{Variables: Varbinds(n, time.Since(r.start))}); err != nil {
			_ = r.conn.Conn.Close()
			r.conn = nil
			return true, fmt.Errorf("snmp_trap %s: send to %s: %s", r.name, r.cfg.Target, r.scrub(err))
		}
	}
	return false, nil
}

// scrub keeps the community and v3 passwords out of library errors.
func (r *Receiver) scrub(err error) string {
	return secret.Scrub(err.Error(), r.cfg.Community, r.cfg.AuthPassword, r.cfg.PrivPassword)
}

// Varbinds are a notification's trap variables: sysUpTime.0,
// snmpTrapOID.0 (crmwatchAlertFiring or crmwatchAlertResolved), then the
// CRMWATCH-MIB objects.
func Varbinds(n notify.Notification, uptime time.Duration) []gosnmp.SnmpPDU {
	trap := OIDFiring
	if n.Status == notify.StatusResolved {
		trap = OIDResolved
	}
	a := n.Alert
	orgs := make([]string, len(a.Organizations))
	for i, o := range a.Organizations {
		orgs[i] = o
		if i < len(n.OrganizationNames) && n.OrganizationNames[i] != "" {
			orgs[i] = n.OrganizationNames[i]
		}
	}
	text := func(obj int, s string) gosnmp.SnmpPDU {
		return gosnmp.SnmpPDU{Name: oidObjects + strconv.Itoa(obj), Type: gosnmp.OctetString, Value: cut(s)}
	}
	num := func(obj, v int) gosnmp.SnmpPDU {
		return gosnmp.SnmpPDU{Name: oidObjects + strconv.Itoa(obj), Type: gosnmp.Integer, Value: v}
	}
	return []gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(uptime / (10 * time.Millisecond))}, //nolint:gosec // wraps like sysUpTime does
		{Name: oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: trap},
		text(objID, a.ID),
		text(objRule, a.Rule),
		num(objSeverity, a.Severity.Rank()),
		num(objState, stateNumber(a.State)),
		text(objHost, strings.Join(a.Hosts, ",")),
		text(objOrganization, strings.Join(orgs, ",")),
		text(objSummary, a.Summary),
		text(objChange, string(n.Kind)),
		text(objConsoleURL, n.ConsoleURL),
	}
}

func stateNumber(s alerts.State) int {
	switch s {
	case alerts.StateNew:
		return 1
	case alerts.StateAcknowledged:
		return 2
	case alerts.StateResolved:
		return 3
	}
	return 0
}

// cut keeps s within CrmwatchText's 1024 bytes without splitting a rune.
func cut(s string) string {
	if len(s) <= maxText {
		return s
	}
	s = s[:maxText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
