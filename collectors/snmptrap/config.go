package snmptrap

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"crmwatch/collectors"
	"crmwatch/event"
	"crmwatch/secret"
)

// Config configures the trap receiver. DefaultConfig is the one source of
// defaults; the agent decodes the operator's YAML on top of it.
type Config struct {
	// Listen is the UDP address traps arrive on. Default ":162" (the SNMP
	// trap port; binding it needs privileges on Linux).
	Listen string `yaml:"listen"`
	// Communities are the SNMPv1/v2c communities accepted; a v1/v2c trap
	// with another community is refused and counted. None: v1 and v2c
	// traps are all refused.
	Communities []secret.Value `yaml:"communities"`
	// Users are the SNMPv3 USM users accepted; a v3 trap is accepted only
	// when it authenticates as one of them (and is encrypted if the user
	// has a privacy protocol).
	Users []User `yaml:"users"`
	// Traps map trap OIDs to events: oid (numeric, or a name the MIBs
	// define such as IF-MIB::linkDown), name (the event category), level,
	// message. The packs' mappings for the host's roles are added; a
	// mapping here wins over a pack's for the same OID.
	Traps []collectors.TrapMapping `yaml:"traps"`
	// MIBs are MIB files (or folders of them) whose OBJECT IDENTIFIER,
	// NOTIFICATION-TYPE, TRAP-TYPE and OBJECT-TYPE definitions name OIDs:
	// mappings may use those names, and unknown traps and variable bindings
	// are shown by name. Default: none (numeric OIDs, and the generic traps
	// of SNMPv2-MIB by name).
	MIBs []string `yaml:"mibs"`
	// UnknownLevel is the level of traps no mapping names. Default info.
	UnknownLevel string `yaml:"unknown_level"`
	// Hosts name the host a trap is about by its sender's IP address (e.g.
	// a server's management controller). Default: the agent's host for
	// traps from this machine, else the sender's address.
	Hosts map[string]string `yaml:"hosts"`
	// QueueSize bounds the traps held in memory between the socket and the
	// sink; when full, new traps are dropped and counted by level. Default
	// 10000; 100–1000000.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most events handed to the sink at once. Default
	// 500; 1–10000.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a trap waits for its batch to fill.
	// Default 100ms; 1ms–10s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// ReadBuffer is the socket receive buffer in bytes, which absorbs
	// bursts. Default 4 MiB (the system may cap it); 64 KiB–256 MiB.
	ReadBuffer int `yaml:"read_buffer"`
}

// User is one SNMPv3 USM user.
type User struct {
	// Name is the USM user name (securityName).
	Name string `yaml:"name"`
	// EngineIDs, if set, are the sender engine ids (hex, e.g.
	// 0x8000000001020304) this user is accepted from; default any.
	EngineIDs []string `yaml:"engine_ids"`
	// AuthProtocol: md5, sha, sha224, sha256, sha384 or sha512. Required.
	AuthProtocol string `yaml:"auth_protocol"`
	// AuthKey is the authentication passphrase (at least 8 characters).
	AuthKey secret.Value `yaml:"auth_key"`
	// PrivProtocol: none (authNoPriv, the default), des, aes, aes192,
	// aes256, aes192c or aes256c (the c variants: Cisco's key extension).
	PrivProtocol string `yaml:"priv_protocol"`
	// PrivKey is the privacy passphrase (at least 8 characters).
	PrivKey secret.Value `yaml:"priv_key"`
}

// DefaultConfig returns the configuration with every default set.
func DefaultConfig() *Config {
	return &Config{
		Listen:        ":162",
		UnknownLevel:  event.LevelInfo.String(),
		QueueSize:     10000,
		BatchSize:     500,
		FlushInterval: 100 * time.Millisecond,
		ReadBuffer:    4 << 20,
	}
}

// Validate reports every problem at once; no message repeats a secret.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen %q: want host:port, e.g. :162 or 0.0.0.0:1162", c.Listen)
	}
	if len(c.Communities) == 0 && len(c.Users) == 0 {
		add("communities/users: none given, so every trap would be refused; add a community (v1/v2c) or a v3 user")
	}
	for i, v := range c.Communities {
		if v.IsZero() {
			add("communities[%d]: empty", i)
		}
	}
	for i, u := range c.Users {
		for _, err := range u.validate() {
			add("users[%d]: %w", i, err)
		}
	}
	for i, t := range c.Traps {
		if err := checkMapping(t); err != nil {
			add("traps[%d]: %w", i, err)
		}
	}
	if l, err := event.ParseLevel(c.UnknownLevel); err != nil || l == event.LevelUnknown {
		add("unknown_level %q: want verbose, info, warning, error or critical", c.UnknownLevel)
	}
	for addr, name := range c.Hosts {
		if net.ParseIP(addr) == nil {
			add("hosts: %q is not an IP address (map a sender's address to a host name)", addr)
		}
		if strings.TrimSpace(name) == "" {
			add("hosts[%s]: empty host name", addr)
		}
	}
	if c.QueueSize < 100 || c.QueueSize > 1000000 {
		add("queue_size %d: want 100 to 1000000", c.QueueSize)
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		add("batch_size %d: want 1 to 10000", c.BatchSize)
	}
	if c.FlushInterval < time.Millisecond || c.FlushInterval > 10*time.Second {
		add("flush_interval %v: want 1ms to 10s", c.FlushInterval)
	}
	if c.ReadBuffer < 64<<10 || c.ReadBuffer > 256<<20 {
		add("read_buffer %d: want 65536 to 268435456", c.ReadBuffer)
	}
	if _, err := LoadMIBs(c.MIBs...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkMapping checks a mapping's form (names are resolved when the
// collector starts: a name the MIBs lack is logged, not fatal).
func checkMapping(t collectors.TrapMapping) error {
	var errs []error
	if t.OID == "" {
		errs = append(errs, errors.New("oid: required (numeric such as 1.3.6.1.6.3.1.1.5.3, or a MIB name such as IF-MIB::linkDown)"))
	} else if _, err := parseOID(t.OID); err != nil && !isName(t.OID) {
		errs = append(errs, fmt.Errorf("oid %q: neither a numeric OID nor a MIB name", t.OID))
	}
	if strings.TrimSpace(t.Name) == "" {
		errs = append(errs, fmt.Errorf("oid %s: name required (the event category rules match)", t.OID))
	}
	if l, err := event.ParseLevel(t.Level); err != nil || l == event.LevelUnknown {
		errs = append(errs, fmt.Errorf("oid %s: level %q: want verbose, info, warning, error or critical", t.OID, t.Level))
	}
	return errors.Join(errs...)
}

// Protocol names (lower case) accepted in configuration and --v3-user.
var (
	authProtocols = []string{"md5", "sha", "sha224", "sha256", "sha384", "sha512"}
	privProtocols = []string{"none", "des", "aes", "aes192", "aes256", "aes192c", "aes256c"}
)

func (u User) validate() []error {
	var errs []error
	if u.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	who := fmt.Sprintf("user %q", u.Name)
	if !contains(authProtocols, strings.ToLower(u.AuthProtocol)) {
		errs = append(errs, fmt.Errorf("%s: auth_protocol %q: want one of %s (users without authentication are not accepted)", who, u.AuthProtocol, strings.Join(authProtocols, ", ")))
	}
	if n := len(u.AuthKey.Reveal()); n < 8 {
		errs = append(errs, fmt.Errorf("%s: auth_key: %d characters, USM needs at least 8", who, n))
	}
	priv := strings.ToLower(u.PrivProtocol)
	if priv == "" {
		priv = "none"
	}
	switch {
	case !contains(privProtocols, priv):
		errs = append(errs, fmt.Errorf("%s: priv_protocol %q: want one of %s", who, u.PrivProtocol, strings.Join(privProtocols, ", ")))
	case priv != "none" && len(u.PrivKey.Reveal()) < 8:
		errs = append(errs, fmt.Errorf("%s: priv_key: %d characters, USM needs at least 8", who, len(u.PrivKey.Reveal())))
	case priv == "none" && !u.PrivKey.IsZero():
		errs = append(errs, fmt.Errorf("%s: priv_key given without priv_protocol; set priv_protocol (e.g. aes) or remove the key", who))
	}
	for _, e := range u.EngineIDs {
		if _, err := parseEngineID(e); err != nil {
			errs = append(errs, fmt.Errorf("%s: engine_ids: %w", who, err))
		}
	}
	return errs
}

// parseEngineID reads a hex engine id ("0x" optional, ':' allowed between
// bytes); RFC 3411 allows 5 to 32 bytes.
func parseEngineID(s string) (string, error) {
	h := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) < 5 || len(b) > 32 {
		return "", fmt.Errorf("%q: want 5 to 32 bytes in hex, e.g. 0x80001f8880e9630000d61ff449", s)
	}
	return string(b), nil
}

// ParseV3User reads NAME:AUTHPROTO:AUTHKEY[:PRIVPROTO:PRIVKEY] (the
// --v3-user flag); NAME may be NAME@ENGINEID to accept the user from that
// engine only. Errors never repeat the keys.
func ParseV3User(s string) (User, error) {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) != 3 && len(parts) != 5 {
		return User{}, fmt.Errorf("--v3-user: want NAME:AUTHPROTO:AUTHKEY:PRIVPROTO:PRIVKEY (or NAME:AUTHPROTO:AUTHKEY for authNoPriv), got %d fields", len(parts))
	}
	u := User{Name: parts[0], AuthProtocol: strings.ToLower(parts[1]), AuthKey: secret.New(parts[2])}
	if name, engine, ok := strings.Cut(u.Name, "@"); ok {
		u.Name, u.EngineIDs = name, []string{engine}
	}
	if len(parts) == 5 {
		u.PrivProtocol, u.PrivKey = strings.ToLower(parts[3]), secret.New(parts[4])
	}
	if errs := u.validate(); len(errs) > 0 {
		return User{}, fmt.Errorf("--v3-user: %w", errors.Join(errs...))
	}
	return u, nil
}

// ApplyPlan adds the packs' trap mappings (implements collectors.Planned);
// an operator mapping of the same OID wins. It reports false: the plan
// supplies mappings but never starts a listener by itself, since a trap
// port and credentials are the operator's choice.
func (c *Config) ApplyPlan(p collectors.Plan) bool {
	have := map[string]bool{}
	for _, t := range c.Traps {
		have[normOID(t.OID)] = true
	}
	for _, t := range p.SNMPTraps {
		if !have[normOID(t.OID)] {
			c.Traps = append(c.Traps, t)
			have[normOID(t.OID)] = true
		}
	}
	return false
}

// Volatile marks traps as observations that cannot be read again.
func (c *Collector) Volatile() bool { return true }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Equal reports whether o is the same configuration (the agent restarts a
// collector only when its configuration changed; secrets compare by value).
func (c *Config) Equal(o collectors.Config) bool {
	oc, ok := o.(*Config)
	if !ok {
		return false
	}
	return reflect.DeepEqual(c.comparable(), oc.comparable())
}

// comparable is c with every secret as a digest of its text.
func (c *Config) comparable() any {
	digest := func(v secret.Value) string {
		sum := sha256.Sum256([]byte(v.Reveal()))
		return hex.EncodeToString(sum[:])
	}
	type user struct {
		User
		AuthKey, PrivKey string
	}
	out := struct {
		Config
		Communities []string
		Users       []user
	}{Config: *c}
	out.Config.Communities, out.Config.Users = nil, nil
	for _, v := range c.Communities {
		out.Communities = append(out.Communities, digest(v))
	}
	for _, u := range c.Users {
		uu := user{User: u, AuthKey: digest(u.AuthKey), PrivKey: digest(u.PrivKey)}
		uu.User.AuthKey, uu.User.PrivKey = secret.Value{}, secret.Value{}
		out.Users = append(out.Users, uu)
	}
	return out
}
